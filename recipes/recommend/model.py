"""The networks: matrix factorisation and a two-tower model. Both score a user against items as
``scale * (user_vector . item_vector) + item_bias``, so training, evaluation and export treat them alike."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MatrixFactorization(nn.Module):
    """A vector per user and per item, and a bias per item (how popular it is, whoever asks)."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64, init_std: float = 0.05):
        super().__init__()
        self.users = nn.Embedding(n_users, dim)
        self.items = nn.Embedding(n_items, dim)
        self.bias = nn.Parameter(torch.zeros(n_items))
        nn.init.normal_(self.users.weight, std=init_std)
        nn.init.normal_(self.items.weight, std=init_std)
        self.scale = 1.0

    def encode_users(self, users: torch.Tensor) -> torch.Tensor:
        return self.users(users)

    def encode_items(self, items: torch.Tensor | None = None) -> torch.Tensor:
        return self.items.weight if items is None else self.items(items)

    def item_bias(self, items: torch.Tensor | None = None) -> torch.Tensor:
        return self.bias if items is None else self.bias[items]

    def forward(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of ``users`` against every item: (users, items)."""
        return score_all(self, users)


class TwoTower(nn.Module):
    """A user tower and an item tower (embedding, then an MLP), L2-normalised: cosine similarity over a
    temperature. Item ids only; content features would enter the item tower."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64, hidden: int = 128, temperature: float = 0.1):
        super().__init__()
        self.users = nn.Embedding(n_users, dim)
        self.items = nn.Embedding(n_items, dim)
        nn.init.normal_(self.users.weight, std=0.1)
        nn.init.normal_(self.items.weight, std=0.1)
        self.user_tower = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.item_tower = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.bias = nn.Parameter(torch.zeros(n_items))
        self.scale = 1.0 / temperature

    def encode_users(self, users: torch.Tensor) -> torch.Tensor:
        x = self.users(users)
        return F.normalize(x + self.user_tower(x), dim=-1)

    def encode_items(self, items: torch.Tensor | None = None) -> torch.Tensor:
        x = self.items.weight if items is None else self.items(items)
        return F.normalize(x + self.item_tower(x), dim=-1)

    def item_bias(self, items: torch.Tensor | None = None) -> torch.Tensor:
        return self.bias if items is None else self.bias[items]

    def forward(self, users: torch.Tensor) -> torch.Tensor:
        return score_all(self, users)


def score_all(net: nn.Module, users: torch.Tensor) -> torch.Tensor:
    """(users, items) scores of every item for ``users``."""
    return net.scale * net.encode_users(users) @ net.encode_items().T + net.item_bias()
