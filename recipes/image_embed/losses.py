"""Metric-learning losses on L2-normalised embeddings: margin softmax (ArcFace, CosFace) over the training identities,
and a batch-hard triplet loss. Train-side only: the exported network ends at the embedding."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

LOSSES = ("arcface", "cosface", "triplet")
DEFAULT_MARGIN = {"arcface": 0.2, "cosface": 0.35, "triplet": 0.2}


class MarginSoftmax(nn.Module):
    """Cosine logits to a unit-norm weight per training identity, the true one pushed down by an angular (ArcFace:
    cos(theta + m)) or a cosine (CosFace: cos(theta) - m) margin, all scaled by ``scale``."""

    def __init__(self, dim: int, identities: int, kind: str, margin: float, scale: float):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(identities, dim) * 0.01)
        self.kind, self.margin, self.scale = kind, margin, scale

    def forward(self, emb: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        cos = emb @ F.normalize(self.weight, dim=-1).T
        true = cos.gather(1, target[:, None]).clamp(-1 + 1e-7, 1 - 1e-7)
        if self.kind == "arcface":
            theta = torch.acos(true)
            # past pi - m, cos(theta + m) would rise again; fall back to CosFace's shift there (as ArcFace does)
            moved = torch.where(theta + self.margin < math.pi, torch.cos(theta + self.margin), true - self.margin)
        else:
            moved = true - self.margin
        logits = cos.scatter(1, target[:, None], moved)
        return F.cross_entropy(self.scale * logits, target)


class BatchHardTriplet(nn.Module):
    """For each anchor: its farthest same-identity and nearest other-identity embedding in the batch."""

    def __init__(self, margin: float):
        super().__init__()
        self.margin = margin

    def forward(self, emb: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        dist = (2 - 2 * emb @ emb.T).clamp_min(1e-12).sqrt()
        same = target[:, None] == target[None, :]
        hardest_pos = (dist * same).max(1).values
        hardest_neg = dist.masked_fill(same, float("inf")).min(1).values
        valid = torch.isfinite(hardest_neg) & (same.sum(1) > 1)
        loss = F.relu(hardest_pos - hardest_neg + self.margin)
        return loss[valid].mean() if valid.any() else emb.sum() * 0


def build_loss(kind: str, dim: int, identities: int, margin: float | None, scale: float) -> nn.Module:
    margin = DEFAULT_MARGIN[kind] if margin is None else float(margin)
    if kind == "triplet":
        return BatchHardTriplet(margin)
    return MarginSoftmax(dim, identities, kind, margin, scale)
