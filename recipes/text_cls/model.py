"""Networks for text-cls, built from `conf/model/text_*.yaml` through Hydra's instantiate.

Both take (batch, sequence) int64 token ids padded with 0 and give the same logits however much padding a
batch carries, so a text scores the same alone or next to a long one (and in ONNX Runtime as in torch).
"""

from __future__ import annotations

import torch
from torch import nn

from aiaas_recipes.common.text.encoder import EncoderLayer, check_heads, encode


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the sequence of the positions where ``mask`` (batch, sequence) is 1; 0 for an all-pad row."""
    weights = mask.unsqueeze(-1).to(x.dtype)
    return (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def mean_max_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean and max over the real tokens, side by side: the max keeps one strong word ("awful") from being
    averaged away in a long text. An all-pad row pools to zeros."""
    peak = x.masked_fill(~mask.unsqueeze(-1), -1e4).amax(1) * mask.any(1, keepdim=True).to(x.dtype)
    return torch.cat([masked_mean(x, mask), peak], -1)


class TextTransformer(nn.Module):
    """A small Transformer encoder from scratch: token + learned position embeddings, masked mean pooling."""

    def __init__(self, num_classes: int, vocab_size: int, max_length: int, width: int = 128, layers: int = 2,
                 heads: int = 4, ff: int = 256, dropout: float = 0.1):  # fmt: skip
        super().__init__()
        check_heads(width, heads)
        self.tokens = nn.Embedding(vocab_size, width, padding_idx=0)
        self.positions = nn.Embedding(max_length, width)
        self.layers = nn.ModuleList(EncoderLayer(width, heads, ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * width, num_classes))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = encode(self.tokens(ids), ids, self.positions, self.layers)
        return self.head(mean_max_pool(self.norm(x), ids != 0))


def reverse_within_length(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row's tokens in reverse order, padding kept at the end (so a causal RNN never reads padding first)."""
    steps = torch.cumsum(torch.ones_like(ids), 1) - 1
    index = (lengths.unsqueeze(1) - 1 - steps).clamp(min=0)
    return torch.where(steps < lengths.unsqueeze(1), ids.gather(1, index), torch.zeros_like(ids))


class TextRNN(nn.Module):
    """A bidirectional LSTM or GRU over subword embeddings, mean- and max-pooled over the real tokens.

    The backward direction runs a second forward RNN over each text reversed within its length: a packed
    sequence would do the same but does not export to ONNX, and a plain bidirectional RNN reads padding.
    """

    def __init__(self, num_classes: int, vocab_size: int, max_length: int = 0, embed: int = 128, hidden: int = 128,
                 cell: str = "lstm", dropout: float = 0.2):  # fmt: skip
        super().__init__()
        if cell not in ("lstm", "gru"):
            from aiaas_cli.errors import ConfigError

            raise ConfigError(f"model.cell={cell} must be lstm or gru")
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.tokens = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.forward_rnn = rnn(embed, hidden, batch_first=True)
        self.backward_rnn = rnn(embed, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(4 * hidden, num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = ids != 0
        lengths = mask.sum(1)
        ahead, _ = self.forward_rnn(self.drop(self.tokens(ids)))
        behind, _ = self.backward_rnn(self.drop(self.tokens(reverse_within_length(ids, lengths))))
        return self.head(self.drop(mean_max_pool(torch.cat([ahead, behind], -1), mask)))
