"""A small CTC network over characters: a strided conv front end, then bidirectional GRU layers.

Padding never reaches a real frame: convs see zeros past each utterance's end (as an unpadded one would), and
the backward GRU runs over each utterance reversed within its own length. So an utterance gets the same
outputs alone or padded in any batch, which the service relies on (it pads every window to one length)."""

from __future__ import annotations

import torch
from torch import nn


def frame_mask(lengths: torch.Tensor, frames: int | torch.Tensor) -> torch.Tensor:
    """(N, T) True on real frames."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]


def flip_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(N, T, C) with each row's first ``length`` frames reversed and its padding left in place."""
    t = torch.arange(x.shape[1], device=x.device)[None, :]
    index = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class BiGRU(nn.Module):
    """Two unidirectional GRUs: forward over the frames, backward over each row reversed within its length."""

    def __init__(self, size: int, hidden: int):
        super().__init__()
        self.forward_gru = nn.GRU(size, hidden, batch_first=True)
        self.backward_gru = nn.GRU(size, hidden, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        ahead, _ = self.forward_gru(x)
        back, _ = self.backward_gru(flip_within(x, lengths))
        return torch.cat([ahead, flip_within(back, lengths)], dim=-1)


class CTCNet(nn.Module):
    """(N, n_mels, T) log-mels and (N,) frame counts -> (N, ceil(T/4), classes) log-probabilities (class 0: blank)."""

    def __init__(self, n_mels: int, num_classes: int, channels: int = 128, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.1):  # fmt: skip
        super().__init__()
        self.subsample = nn.Conv1d(n_mels, channels, kernel_size=5, stride=2, padding=2)
        self.conv = nn.Conv1d(channels, channels, kernel_size=3, stride=2, padding=1)
        self.norm = nn.LayerNorm(channels)
        self.recurrent = nn.ModuleList(BiGRU(channels if i == 0 else 2 * hidden, hidden) for i in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, num_classes)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = features * frame_mask(lengths, features.shape[2])[:, None, :].to(features.dtype)
        for conv in (self.subsample, self.conv):  # each halves time; padding is zeroed after each
            lengths = torch.div(lengths - 1, 2, rounding_mode="floor") + 1
            x = torch.relu(conv(x))
            x = x * frame_mask(lengths, x.shape[2])[:, None, :].to(x.dtype)
        x = self.norm(x.transpose(1, 2))
        for layer in self.recurrent:
            x = self.dropout(layer(x, lengths))
        return torch.log_softmax(self.head(x), dim=-1)
