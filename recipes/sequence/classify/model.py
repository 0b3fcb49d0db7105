"""Networks for seq-cls, built from `conf/model/seq_*.yaml` through Hydra's instantiate.

Both take raw (batch, time, features) float32 values padded with anything after each sequence's length, and
its length (batch,) int64. Per-feature normalisation (fitted on train) is inside the network, so the served
model needs no statistics beside it; padding never changes a sequence's logits.
"""

from __future__ import annotations

import torch
from torch import nn

from aiaas_recipes.sequence.rnn import Encoder, masked_mean_max, step_mask


class Normalise(nn.Module):
    """(x - mean) / std per feature, zero on padded steps."""

    def __init__(self, mean: list[float], std: list[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std * mask.unsqueeze(-1).to(x.dtype)


class SequenceRNN(nn.Module):
    """LSTM/GRU (bidirectional by default): last states and mean/max-pooled outputs into a linear head."""

    def __init__(self, num_classes: int, features: int, mean: list[float], std: list[float], hidden: int = 64,
                 layers: int = 1, cell: str = "lstm", bidirectional: bool = True, dropout: float = 0.1):  # fmt: skip
        super().__init__()
        self.normalise = Normalise(mean, std)
        self.encoder = Encoder(features, hidden, layers, cell, bidirectional, dropout)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(3 * self.encoder.width, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = step_mask(x, lengths)
        outputs, last = self.encoder(self.normalise(x, mask), lengths)
        return self.head(self.drop(torch.cat([last, masked_mean_max(outputs, mask)], -1)))


class SequenceCNN(nn.Module):
    """A 1-D CNN: dilated convolutions over time, padded steps zeroed after every layer, mean/max pooling."""

    def __init__(self, num_classes: int, features: int, mean: list[float], std: list[float], channels: int = 64,
                 layers: int = 3, kernel: int = 5, dropout: float = 0.1):  # fmt: skip
        super().__init__()
        self.normalise = Normalise(mean, std)
        self.convs = nn.ModuleList(
            nn.Conv1d(features if i == 0 else channels, channels, kernel, padding=(kernel // 2) * 2**i, dilation=2**i)
            for i in range(layers)
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * channels, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = step_mask(x, lengths)
        keep = mask.unsqueeze(1).to(x.dtype)
        h = self.normalise(x, mask).transpose(1, 2)
        for conv in self.convs:
            h = torch.relu(conv(h)) * keep  # zero past the length: a sequence scores the same however padded
        return self.head(self.drop(masked_mean_max(h.transpose(1, 2), mask)))
