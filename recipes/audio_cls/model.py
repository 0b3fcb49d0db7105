"""A small CNN over log-mel spectrograms, with SpecAugment-style masking while it trains."""

from __future__ import annotations

import torch
from torch import nn


def spec_augment(x: torch.Tensor, freq_width: int, time_width: int, masks: int) -> torch.Tensor:
    """Zero ``masks`` random bands of up to ``freq_width`` mel bins and ``time_width`` frames per example
    (after the input norm, so zero is the average level)."""
    n, mels, frames = x.shape
    out = x.clone()
    for _ in range(masks):
        for width, size, axis in ((freq_width, mels, 1), (time_width, frames, 2)):
            if width <= 0:
                continue
            span = torch.randint(0, width + 1, (n, 1), device=x.device)
            start = (torch.rand(n, 1, device=x.device) * (size - span + 1)).long()
            pos = torch.arange(size, device=x.device)[None]
            band = (pos >= start) & (pos < start + span)
            out = out.masked_fill(band[:, :, None] if axis == 1 else band[:, None, :], 0.0)
    return out


class AudioCNN(nn.Module):
    """(N, n_mels, frames) log-mels -> logits: per-bin input norm, conv blocks, global average pooling."""

    def __init__(
        self,
        num_classes: int,
        n_mels: int = 40,
        channels: list[int] = (16, 32, 64),
        dropout: float = 0.2,
        freq_mask: int = 6,
        time_mask: int = 12,
        masks: int = 2,
    ):
        super().__init__()
        self.norm = nn.BatchNorm1d(n_mels)  # learns the level of each mel bin; also absorbs the log offset
        self.freq_mask, self.time_mask, self.masks = freq_mask, time_mask, masks
        layers, in_ch = [], 1
        for out_ch in channels:
            layers += [
                nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_ch),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(in_ch, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        if self.training and self.masks:
            x = spec_augment(x, self.freq_mask, self.time_mask, self.masks)
        return self.head(self.features(x.unsqueeze(1)))
