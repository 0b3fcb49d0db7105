"""Networks for token-cls, built from `conf/model/ner_*.yaml` through Hydra's instantiate.

Both take (batch, sequence) int64 sub-token ids padded with 0 and give (batch, sequence, tags) logits. A
position's logits do not depend on how much padding its row carries, so a sentence is tagged the same alone
or next to a long one, in torch as in ONNX Runtime.
"""

from __future__ import annotations

import torch
from torch import nn

from aiaas_recipes.common.text.encoder import EncoderLayer, check_heads, encode
from aiaas_recipes.token_cls.encoding import SHAPES


def reversal_index(ids: torch.Tensor) -> torch.Tensor:
    """(batch, sequence) positions that read each row's real steps backwards and leave its padding in place."""
    lengths = (ids != 0).sum(1, keepdim=True)
    steps = torch.cumsum(torch.ones_like(ids), 1) - 1
    return torch.where(steps < lengths, lengths - 1 - steps, steps)


def reverse_padded(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x`` (batch, sequence, features) with its real steps reversed by ``reversal_index``; applied twice it
    gives ``x`` back. The index is expanded with -1: its shape comes from the ids, never from an RNN output
    (torch.export gives nn.LSTM outputs the example's fixed length, which would freeze the sequence axis)."""
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.size(-1)))


class PieceEmbedding(nn.Module):
    """A piece's embedding plus the embedding of its shape (capital, lower case, digit...; a fixed table by
    vocabulary id): a rare piece still says whether it starts a capitalised word."""

    def __init__(self, vocab_size: int, width: int, shapes: list[int] | None):
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, width, padding_idx=0)
        table = torch.as_tensor(list(shapes) if shapes is not None else [0] * vocab_size, dtype=torch.long)
        self.register_buffer("shape_of", table)
        self.shapes = nn.Embedding(SHAPES, width, padding_idx=0)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.tokens(ids) + self.shapes(self.shape_of[ids])


class TokenRNN(nn.Module):
    """A bidirectional LSTM (or GRU) tagger over sub-token embeddings, ``layers`` deep.

    Each backward layer runs a forward RNN over the sequence reversed within its length: a packed sequence
    would do the same but does not export to ONNX, and a plain bidirectional RNN would read padding first.
    """

    def __init__(self, num_tags: int, vocab_size: int, max_length: int = 0, embed: int = 128, hidden: int = 128,
                 layers: int = 1, cell: str = "lstm", dropout: float = 0.2,
                 shapes: list[int] | None = None):  # fmt: skip
        super().__init__()
        if cell not in ("lstm", "gru"):
            from aiaas_cli.errors import ConfigError

            raise ConfigError(f"model.cell={cell} must be lstm or gru")
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.tokens = PieceEmbedding(vocab_size, embed, shapes)
        sizes = [embed] + [2 * hidden] * (layers - 1)
        self.ahead = nn.ModuleList(rnn(size, hidden, batch_first=True) for size in sizes)
        self.behind = nn.ModuleList(rnn(size, hidden, batch_first=True) for size in sizes)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, num_tags)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        index = reversal_index(ids)
        x = self.drop(self.tokens(ids))
        for ahead, behind in zip(self.ahead, self.behind):
            forward_states, _ = ahead(x)
            backward_states, _ = behind(reverse_padded(x, index))
            x = self.drop(torch.cat([forward_states, reverse_padded(backward_states, index)], -1))
        return self.head(x)


class TokenTransformer(nn.Module):
    """A small Transformer encoder from scratch (common/text/encoder.py): token + learned position embeddings, and
    a tag classifier on every position. Positions past ``max_length`` share the last position's embedding."""

    def __init__(self, num_tags: int, vocab_size: int, max_length: int, width: int = 128, layers: int = 2,
                 heads: int = 4, ff: int = 256, dropout: float = 0.1, shapes: list[int] | None = None):  # fmt: skip
        super().__init__()
        check_heads(width, heads)
        self.tokens = PieceEmbedding(vocab_size, width, shapes)
        self.positions = nn.Embedding(max_length, width)
        self.layers = nn.ModuleList(EncoderLayer(width, heads, ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, num_tags))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(encode(self.tokens(ids), ids, self.positions, self.layers)))
