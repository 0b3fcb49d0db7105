"""Recurrent building blocks shared by the sequence networks (torch: training and export only).

Padded batches must give every sequence the answer it gets alone, in torch and in ONNX Runtime: the forward
RNN reads padding only after the real steps, and the backward direction is a second forward RNN over each
sequence reversed within its length (a packed sequence would do the same, but does not export to ONNX).
"""

from __future__ import annotations

import torch
from torch import nn

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


def rnn_class(cell: str) -> type[nn.Module]:
    if cell not in CELLS:
        from aiaas_cli.errors import ConfigError

        raise ConfigError(f"model.cell={cell} must be one of {', '.join(CELLS)}")
    return CELLS[cell]


def _steps(x: torch.Tensor) -> torch.Tensor:
    """(batch, time) step numbers 0, 1, ... of ``x`` (batch, time, ...); no arange, so the time axis stays
    symbolic in the exported graph."""
    return torch.cumsum(torch.ones_like(x[:, :, 0], dtype=torch.long), 1) - 1


def step_mask(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(batch, time) booleans: True on the real steps of each sequence of ``x`` (batch, time, features)."""
    return _steps(x) < lengths.unsqueeze(1)


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each sequence of ``x`` (batch, time, features) in reverse order, its padding zeroed and kept at the end.

    A (time, time) permutation per sequence rather than gather/expand: the dynamo exporter fixed the expanded
    shape to the example's, and ONNX Runtime then refused other lengths."""
    steps = _steps(x)
    source = lengths.view(-1, 1, 1) - 1 - steps.unsqueeze(2)  # step t reads step len-1-t
    keep = (steps.unsqueeze(1) == source) & (steps < lengths.unsqueeze(1)).unsqueeze(2)
    return torch.bmm(keep.to(x.dtype), x)


def last_step(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The output at each sequence's last real step: (batch, time, width) -> (batch, width)."""
    pick = (_steps(outputs) == (lengths - 1).clamp(min=0).unsqueeze(1)).to(outputs.dtype)
    return (outputs * pick.unsqueeze(-1)).sum(1)


def masked_mean_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean and max over the real steps, side by side: (batch, time, width) -> (batch, 2 * width)."""
    weights = mask.unsqueeze(-1).to(x.dtype)
    mean = (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)
    peak = x.masked_fill(~mask.unsqueeze(-1), -1e4).amax(1) * mask.any(1, keepdim=True).to(x.dtype)
    return torch.cat([mean, peak], -1)


class Encoder(nn.Module):
    """An LSTM or GRU over padded sequences (optionally both directions): per-step outputs and last states."""

    def __init__(self, features: int, hidden: int, layers: int, cell: str, bidirectional: bool, dropout: float):
        super().__init__()
        rnn = rnn_class(cell)
        between = dropout if layers > 1 else 0.0
        self.ahead = rnn(features, hidden, num_layers=layers, batch_first=True, dropout=between)
        self.behind = None
        if bidirectional:
            self.behind = rnn(features, hidden, num_layers=layers, batch_first=True, dropout=between)
        self.width = hidden * (2 if bidirectional else 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(outputs (batch, time, width), last states (batch, width))."""
        ahead, _ = self.ahead(x)
        if self.behind is None:
            return ahead, last_step(ahead, lengths)
        behind, _ = self.behind(reverse_within_length(x, lengths))
        # the backward direction's output at step t is its reading from the end down to t: re-reverse it
        outputs = torch.cat([ahead, reverse_within_length(behind, lengths)], -1)
        return outputs, torch.cat([last_step(ahead, lengths), last_step(behind, lengths)], -1)
