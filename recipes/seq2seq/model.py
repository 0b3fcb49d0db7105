"""A small Transformer encoder-decoder (pre-norm, learned positions, one embedding shared by both sides and the output).

It runs in three shapes, all from the same weights:
- ``forward(src_ids, src_mask, tgt_in)``: teacher-forced logits for training;
- ``encoder_graph(src_ids, src_mask)``: what model.onnx computes once per request, the cross-attention keys and values
  of every decoder layer, ``memory_kv`` [batch, layers, 2, heads, source, head_dim] (computed once, not per step);
- ``step(tokens, positions, attention_mask, past, memory_kv, memory_mask)``: the decoder-step graph of
  recipes/common/generation/kv.py, one token's work per step with past keys/values.
"""

from __future__ import annotations

import math

import torch
from torch import nn

NEG = -1e9  # masked scores: finite, so a row that sees nothing gives no NaN


class Attention(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.q, self.k, self.v, self.out = (nn.Linear(width, width) for _ in range(4))
        self.drop = nn.Dropout(dropout)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """[b, n, width] -> [b, heads, n, head_dim]"""
        return x.reshape(x.shape[0], x.shape[1], self.heads, self.head_dim).transpose(1, 2)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + bias
        mixed = self.drop(torch.softmax(scores, dim=-1)) @ v
        return self.out(mixed.transpose(1, 2).reshape(q.shape[0], q.shape[2], -1))


def feed_forward(width: int, ff: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, width))


class EncoderLayer(nn.Module):
    def __init__(self, width: int, heads: int, ff: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn, self.ff, self.drop = (
            Attention(width, heads, dropout),
            feed_forward(width, ff, dropout),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.drop(
            self.attn.attend(
                self.attn.split(self.attn.q(h)), self.attn.split(self.attn.k(h)), self.attn.split(self.attn.v(h)), bias
            )
        )
        return x + self.drop(self.ff(self.norm2(x)))


class DecoderLayer(nn.Module):
    def __init__(self, width: int, heads: int, ff: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(width) for _ in range(3))
        self.self_attn, self.cross = Attention(width, heads, dropout), Attention(width, heads, dropout)
        self.ff, self.drop = feed_forward(width, ff, dropout), nn.Dropout(dropout)

    def cross_kv(self, memory: torch.Tensor) -> torch.Tensor:
        """[b, 2, heads, source, head_dim]: this layer's cross-attention keys and values of the encoder's output."""
        return torch.stack([self.cross.split(self.cross.k(memory)), self.cross.split(self.cross.v(memory))], dim=1)

    def forward(self, x, past, self_bias, kv, cross_bias) -> tuple[torch.Tensor, torch.Tensor]:
        """x [b, new, width]; past [2, b, heads, past, head_dim]; kv [b, 2, heads, source, head_dim] -> (x, present)"""
        h = self.norm1(x)
        attn = self.self_attn
        k = torch.cat([past[0], attn.split(attn.k(h))], dim=2)
        v = torch.cat([past[1], attn.split(attn.v(h))], dim=2)
        x = x + self.drop(attn.attend(attn.split(attn.q(h)), k, v, self_bias))
        h = self.norm2(x)
        x = x + self.drop(self.cross.attend(self.cross.split(self.cross.q(h)), kv[:, 0], kv[:, 1], cross_bias))
        return x + self.drop(self.ff(self.norm3(x))), torch.stack([k, v])


class Seq2SeqTransformer(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        max_positions: int = 256,
        width: int = 128,
        layers: int = 2,
        decoder_layers: int = 2,
        heads: int = 4,
        ff: int = 256,
        dropout: float = 0.1,
    ):
        super().__init__()
        if width % heads:
            raise ValueError(f"model.width={width} must be a multiple of model.heads={heads}")
        self.width, self.heads, self.head_dim = width, heads, width // heads
        self.max_positions = max_positions
        self.embed = nn.Embedding(vocab_size, width)
        self.src_pos, self.tgt_pos = nn.Embedding(max_positions, width), nn.Embedding(max_positions, width)
        self.encoder = nn.ModuleList(EncoderLayer(width, heads, ff, dropout) for _ in range(layers))
        self.decoder = nn.ModuleList(DecoderLayer(width, heads, ff, dropout) for _ in range(decoder_layers))
        self.enc_norm, self.dec_norm = nn.LayerNorm(width), nn.LayerNorm(width)
        self.drop = nn.Dropout(dropout)
        nn.init.normal_(self.embed.weight, std=width**-0.5)

    @property
    def decoder_spec(self) -> dict:
        return {"layers": len(self.decoder), "heads": self.heads, "head_dim": self.head_dim}

    def _embed(self, ids: torch.Tensor, positions: torch.Tensor, table: nn.Embedding) -> torch.Tensor:
        positions = positions.clamp(0, self.max_positions - 1)
        return self.drop(self.embed(ids) * math.sqrt(self.width) + table(positions))

    def encode(self, src_ids: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """[b, s] ids and mask -> memory [b, s, width]"""
        positions = (torch.cumsum(torch.ones_like(src_ids), dim=1) - 1).long()
        x = self._embed(src_ids, positions, self.src_pos)
        bias = ((src_mask == 0).to(x.dtype) * NEG)[:, None, None, :]
        for layer in self.encoder:
            x = layer(x, bias)
        return self.enc_norm(x)

    def encoder_graph(self, src_ids: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        memory = self.encode(src_ids, src_mask)
        return torch.stack([layer.cross_kv(memory) for layer in self.decoder], dim=1)

    def step(self, tokens, positions, attention_mask, past, memory_kv, memory_mask):
        """The decoder over ``tokens`` [b, new] after ``past``: (logits [b, new, vocab], present)."""
        x = self._embed(tokens, positions, self.tgt_pos)
        seen = past.shape[4]
        keys = torch.cumsum(torch.ones_like(attention_mask[0]), dim=0) - 1  # 0 .. seen + new - 1
        queries = keys[seen:]  # the new tokens' own slots
        allowed = (keys[None, :] <= queries[:, None])[None] & (attention_mask[:, None, :] > 0)  # [b, new, slots]
        self_bias = ((~allowed).to(x.dtype) * NEG)[:, None]
        cross_bias = ((memory_mask == 0).to(x.dtype) * NEG)[:, None, None, :]
        present = []
        for i, layer in enumerate(self.decoder):
            x, kv = layer(x, past[i], self_bias, memory_kv[:, i], cross_bias)
            present.append(kv)
        return self.dec_norm(x) @ self.embed.weight.T, torch.stack(present)

    def forward(self, src_ids: torch.Tensor, src_mask: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits [b, t, vocab] for decoder inputs ``tgt_in`` ([BOS] + target, padded with 0)."""
        memory_kv = self.encoder_graph(src_ids, src_mask)
        b, t = tgt_in.shape
        past = memory_kv.new_zeros(len(self.decoder), 2, b, self.heads, 0, self.head_dim)
        mask = (tgt_in != 0).long()
        mask[:, 0] = 1  # the first input is [BOS] (a pad id of 0 never starts a row)
        positions = torch.arange(t, device=tgt_in.device)[None].expand(b, t)
        return self.step(tgt_in, positions, mask, past, memory_kv, src_mask)[0]


class EncoderGraph(nn.Module):
    """model.onnx: (src_ids, src_mask) -> memory_kv."""

    def __init__(self, net: Seq2SeqTransformer):
        super().__init__()
        self.net = net

    def forward(self, src_ids: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        return self.net.encoder_graph(src_ids, src_mask)


class DecoderGraph(nn.Module):
    """decoder.onnx: one step of the decoder with past keys/values (recipes/common/generation/kv.py)."""

    def __init__(self, net: Seq2SeqTransformer):
        super().__init__()
        self.net = net

    def forward(self, tokens, positions, attention_mask, past, memory_kv, memory_mask):
        return self.net.step(tokens, positions, attention_mask, past, memory_kv, memory_mask)
