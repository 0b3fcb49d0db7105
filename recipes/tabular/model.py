"""The tabular MLP: imputation and scaling of raw numbers inside the network (so they are inside the ONNX
graph too), an embedding per categorical column, then Linear (+BatchNorm) + ReLU + Dropout blocks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aiaas_recipes.tabular.encode import UNKNOWN


def embedding_size(cardinality: int, largest: int) -> int:
    """A common rule of thumb for categorical embeddings: grows slowly with the number of categories."""
    return max(2, min(largest, round(1.6 * cardinality**0.56)))


class TabularMLP(nn.Module):
    """Takes the "numeric" (float, NaN where missing) and/or "categorical" (int64) inputs that exist.

    ``numeric`` holds the fitted per-feature lists "fill", "mean", "std" and "indicator" (from the schema);
    regression outputs are scaled back with ``target_mean``/``target_std``, so the network answers in the
    target's own units.
    """

    def __init__(
        self,
        numeric: dict[str, Sequence],
        cardinalities: Sequence[int],
        outputs: int,
        widths: Sequence[int] = (128, 64),
        dropout: float = 0.1,
        batch_norm: bool = True,
        max_embedding: int = 16,
        category_dropout: float = 0.0,
        target_mean: float | None = None,
        target_std: float | None = None,
    ):
        super().__init__()
        self.n_numeric, self.n_categorical = len(numeric["fill"]), len(cardinalities)
        self.register_buffer("fill", torch.tensor(list(numeric["fill"]), dtype=torch.float32))
        self.register_buffer("mean", torch.tensor(list(numeric["mean"]), dtype=torch.float32))
        self.register_buffer("std", torch.tensor(list(numeric["std"]), dtype=torch.float32))
        flagged = [i for i, flag in enumerate(numeric["indicator"]) if flag]
        self.register_buffer("indicator", torch.tensor(flagged, dtype=torch.long))
        self.embeddings = nn.ModuleList(nn.Embedding(n, embedding_size(n, max_embedding)) for n in cardinalities)
        self.category_dropout = float(category_dropout)
        width = self.n_numeric + len(flagged) + sum(e.embedding_dim for e in self.embeddings)
        layers: list[nn.Module] = []
        for size in widths:
            layers += [nn.Linear(width, size)]
            layers += [nn.BatchNorm1d(size)] if batch_norm else []
            layers += [nn.ReLU(), nn.Dropout(dropout)]
            width = size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, outputs)
        self.regression = target_mean is not None
        self.register_buffer("target_mean", torch.tensor(float(target_mean or 0.0)))
        self.register_buffer("target_std", torch.tensor(float(target_std or 1.0)))

    def features(self, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        parts = []
        if self.n_numeric:
            x = inputs[0]
            missing = torch.isnan(x)
            parts.append((torch.where(missing, self.fill, x) - self.mean) / self.std)
            if len(self.indicator):
                parts.append(missing[:, self.indicator].to(torch.float32))
        if self.n_categorical:
            codes = inputs[-1]
            if self.training and self.category_dropout > 0:
                # some codes shown as "unknown", so that index learns what an unseen category should mean
                codes = codes.masked_fill(torch.rand(codes.shape, device=codes.device) < self.category_dropout, UNKNOWN)
            parts += [embedding(codes[:, i]) for i, embedding in enumerate(self.embeddings)]
        return torch.cat(parts, dim=1)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Logits (classification) or values (N, 1) in the target's units (regression)."""
        out = self.head(self.body(self.features(inputs)))
        return out * self.target_std + self.target_mean if self.regression else out


class Exportable(nn.Module):
    """What export traces: the outputs a served model gives (logits and probabilities, or the value)."""

    def __init__(self, net: TabularMLP):
        super().__init__()
        self.net = net

    def forward(self, first: torch.Tensor, second: torch.Tensor | None = None):
        out = self.net(first) if second is None else self.net(first, second)
        if self.net.regression:
            return out
        return out, torch.softmax(out, dim=-1)
