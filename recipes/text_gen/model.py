"""model=gpt_small: a small decoder-only Transformer whose forward is the decoder step of common/generation/kv.py
(tokens, positions, attention mask, past keys/values -> logits, present). Training runs the same forward over a
whole row after the one masked dummy slot, so the exported graph is the code that was trained."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class Block(nn.Module):
    def __init__(self, width: int, heads: int, ff: int, dropout: float):
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.out = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.ff = nn.Sequential(nn.Linear(width, ff), nn.GELU(), nn.Linear(ff, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, past: torch.Tensor, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``past`` [2, batch, heads, past, head_dim]; ``allowed`` [batch, 1, new, past + new] (bool)."""
        batch, new, width = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(width, dim=-1)
        q, k, v = (t.view(batch, new, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        keys, values = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        scores = q @ keys.transpose(-1, -2) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(~allowed, -1e9)  # finite: a padding query with no key left stays a number
        attended = self.drop(scores.softmax(-1)) @ values
        x = x + self.drop(self.out(attended.transpose(1, 2).reshape(batch, new, width)))
        x = x + self.drop(self.ff(self.norm2(x)))
        return x, torch.stack([keys, values])


class GPTSmall(nn.Module):
    """Token and learned position embeddings, pre-norm blocks, a tied output layer."""

    def __init__(self, vocab_size: int, max_positions: int = 256, width: int = 128, layers: int = 4, heads: int = 4,
                 ff: int = 512, dropout: float = 0.0):  # fmt: skip
        super().__init__()
        if width % heads:
            from aiaas_cli.errors import ConfigError

            raise ConfigError(f"model.width={width} must be a multiple of model.heads={heads}")
        self.embed, self.position = nn.Embedding(vocab_size, width), nn.Embedding(max_positions, width)
        self.blocks = nn.ModuleList(Block(width, heads, ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.sizes = {"layers": layers, "heads": heads, "head_dim": width // heads, "vocab": vocab_size,
                      "max_positions": max_positions}  # fmt: skip
        nn.init.normal_(self.embed.weight, std=0.02)
        nn.init.normal_(self.position.weight, std=0.02)

    def forward(self, tokens, positions, attention_mask, past):
        """The decoder step (kv.py names): logits [batch, new, vocab] and present [layers, 2, batch, heads, all,
        head_dim]."""
        new, total = tokens.shape[1], attention_mask.shape[1]
        start = total - new
        causal = torch.arange(total, device=tokens.device)[None, :] <= (
            torch.arange(new, device=tokens.device)[:, None] + start
        )
        allowed = (attention_mask[:, None, None, :] > 0) & causal[None, None]
        x = self.embed(tokens) + self.position(positions)
        presents = []
        for layer, block in enumerate(self.blocks):
            x, present = block(x, past[layer], allowed)
            presents.append(present)
        logits = self.norm(x) @ self.embed.weight.t()
        return logits, torch.stack(presents)

    def empty_past(self, batch: int, device: torch.device | None = None) -> torch.Tensor:
        s = self.sizes
        return torch.zeros(s["layers"], 2, batch, s["heads"], 1, s["head_dim"], device=device)


def row_logits(net: nn.Module, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Logits of right-padded rows run in one step after the masked dummy slot (what training and perplexity use)."""
    batch, width = ids.shape
    steps = torch.arange(width, device=ids.device)
    real = (steps[None, :] < lengths[:, None]).long()
    mask = torch.cat([torch.zeros(batch, 1, dtype=torch.long, device=ids.device), real], dim=1)
    return net(ids, steps[None, :].expand(batch, width), mask, net.empty_past(batch, ids.device))[0]


def lm_loss(logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Next-token cross-entropy on the labels that count (-100: skipped)."""
    return F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100, reduction=reduction
    )
