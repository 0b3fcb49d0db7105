"""Embedding networks for image-embed, built from `conf/model/*.yaml`: a small CNN or a timm backbone, each ending in
a linear embedding layer whose output is L2-normalised (what the ONNX model gives and serving compares)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.nn import functional as F

from aiaas_recipes.common.vision.layers import conv_block


class EmbedCNN(nn.Module):
    """Conv-BN-ReLU blocks with max-pooling, global average pooling, then a linear layer to ``embedding_dim``."""

    def __init__(self, embedding_dim: int = 128, channels: list[int] = (32, 64, 128), dropout: float = 0.0, **_):
        super().__init__()
        layers, in_ch = [], 3
        for out_ch in channels:
            layers += [*conv_block(in_ch, out_ch), nn.MaxPool2d(2)]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        # the pooled map keeps where things are (2x2): eyes above a mouth is part of who a face is
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.embed = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(in_ch * 4, embedding_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embed(self.pool(self.features(x))), dim=-1)


class Normalised(nn.Module):
    """A backbone whose head already outputs ``embedding_dim`` values (a timm model's reset classifier),
    L2-normalised."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.body(x), dim=-1)


def timm_embedder(model_cfg: Mapping, offline: bool = False):
    """(network, timm's Built record): a timm model whose classifier is the embedding layer."""
    from aiaas_recipes.common.backbones.timm_models import classifier

    built = classifier(model_cfg, int(model_cfg["embedding_dim"]), offline=offline)
    return Normalised(built.net), built
