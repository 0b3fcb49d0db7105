"""The forecasting network, built from `conf/model/forecast_*.yaml` through Hydra's instantiate.

It reads a scaled context window (batch, steps, features) and gives the next ``horizon`` values of each target
at once (batch, horizon, targets), on the same scale (`scaling.py` maps both ways).
"""

from __future__ import annotations

import torch
from torch import nn

from aiaas_recipes.sequence.rnn import rnn_class


class ForecastRNN(nn.Module):
    """An LSTM (or GRU) encoder whose last state feeds a multi-step head. Beside it, a linear map from each target's
    context to its horizon (a highway, as in LSTNet): the recurrent part then learns what a linear autoregression
    misses. The map fixes the context length; ``linear_skip: false`` leaves it out."""

    def __init__(self, features: int, targets: int, horizon: int, context_length: int, hidden: int = 64,
                 layers: int = 2, cell: str = "lstm", dropout: float = 0.1, linear_skip: bool = True):  # fmt: skip
        super().__init__()
        self.horizon, self.targets = horizon, targets
        self.rnn = rnn_class(cell)(features, hidden, num_layers=layers, batch_first=True,
                                   dropout=dropout if layers > 1 else 0.0)  # fmt: skip
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, horizon * targets))  # fmt: skip
        self.skip = nn.Linear(context_length, horizon) if linear_skip else None

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(context)
        forecast = self.head(outputs[:, -1]).unflatten(1, (self.horizon, self.targets))
        if self.skip is not None:  # per target, over the context's steps: (batch, targets, steps) -> horizon
            forecast = forecast + self.skip(context[:, :, : self.targets].transpose(1, 2)).transpose(1, 2)
        return forecast
