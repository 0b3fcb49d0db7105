"""The Transformer encoder of the text recipes (text-cls, token-cls), written out so that it exports to ONNX: layers
with the padding mask as an explicit additive bias, and learned positions looked up rather than sliced."""

from __future__ import annotations

import math

import torch
from torch import nn


class EncoderLayer(nn.Module):
    """Pre-norm self-attention + feed-forward. Written out (not nn.TransformerEncoderLayer) because its
    inference fast path exports to ONNX poorly, and this way the padding mask is an explicit additive bias."""

    def __init__(self, width: int, heads: int, ff: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(w // self.heads) + bias  # bias: -1e4 on padded keys
        attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, w)
        x = x + self.drop(self.out(attended))
        return x + self.drop(self.ff(self.norm2(x)))


def check_heads(width: int, heads: int) -> None:
    """Attention splits the width evenly across the heads."""
    if width % heads:
        from aiaas_cli.errors import ConfigError

        raise ConfigError(f"model.width={width} must be a multiple of model.heads={heads}")


def encode(embedded: torch.Tensor, ids: torch.Tensor, positions: nn.Embedding, layers: nn.ModuleList) -> torch.Tensor:
    """(batch, sequence, width) states of token embeddings ``embedded`` of ``ids`` (padded with 0) plus learned
    positions (past the table, the last one), through ``layers`` with padded keys masked out."""
    mask = ids != 0
    # positions by lookup, not slicing: no guard on the sequence length for torch.export
    steps = torch.cumsum(torch.ones_like(ids), 1) - 1
    x = embedded + positions(steps.clamp(max=positions.num_embeddings - 1))
    bias = (~mask).to(x.dtype)[:, None, None, :] * -1e4
    for layer in layers:
        x = layer(x, bias)
    return x
