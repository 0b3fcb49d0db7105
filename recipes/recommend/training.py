"""Training: the Lightning module (sampled softmax or BPR, in-batch negatives) and the data module.

Validation ranks the whole catalogue for each validation user, training items excluded, and logs
``val_ndcg`` / ``val_recall`` at k: the best checkpoint is the one that recommends best, not the lowest loss.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from aiaas_recipes.common.data.rows import RowDataModule
from aiaas_recipes.common.module import ConfiguredModule, optimizers_from
from aiaas_recipes.recommend import dataset, ranking

LOSSES = ("softmax", "bpr")


class RecommenderModule(ConfiguredModule):
    """Wraps a network with ``encode_users``/``encode_items``/``item_bias``/``scale`` (see model.py).

    Its checkpoint carries what serving needs beyond the weights: the "aiaas" metadata (ids, sizes, model
    config) and, as buffers, every user's history (CSR) and each item's popularity.
    """

    def __init__(self, net, optimizer, scheduler, meta: dict, dataset_dir: Path, loss: str, logq: bool, k: int):
        if loss not in LOSSES:
            from aiaas_cli.errors import ConfigError

            raise ConfigError(f"loss.name must be one of {', '.join(LOSSES)}, got {loss!r}")
        super().__init__(net, optimizer, scheduler, meta)
        self.loss_name, self.k = loss, int(k)
        shape = (meta["n_users"], meta["n_items"])
        for name, values in dataset.served_state(dataset_dir, shape).items():
            self.register_buffer(name, torch.from_numpy(values))
        train = dataset.matrix(dataset_dir, ("train",), shape)
        train_counts = np.asarray(train.sum(axis=0)).ravel() + 1.0  # +1: items never in train stay finite
        log_q = np.log(train_counts / train_counts.sum()).astype(np.float32) if logq else np.zeros(shape[1], "f4")
        self.register_buffer("log_q", torch.from_numpy(log_q), persistent=False)  # training only
        self.seen_for_val, self.val_relevant = train, dataset.matrix(dataset_dir, ("val",), shape)

    def _softmax_loss(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Each user's positive against the batch's other items (in-batch negatives), popularity-corrected
        (logQ: in-batch negatives are drawn by popularity); other rows holding the same item are not negatives."""
        net = self.net
        logits = net.scale * net.encode_users(users) @ net.encode_items(items).T + net.item_bias(items)
        logits = logits - self.log_q[items]
        same = (items[:, None] == items[None, :]) & ~torch.eye(len(items), dtype=torch.bool, device=items.device)
        logits = logits.masked_fill(same, float("-inf"))
        return F.cross_entropy(logits, torch.arange(len(items), device=items.device))

    def _bpr_loss(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """The positive should outscore one negative per row: another row's item (in-batch)."""
        net = self.net
        negatives = items[torch.randperm(len(items), device=items.device)]
        u = net.encode_users(users)
        pos = net.scale * (u * net.encode_items(items)).sum(-1) + net.item_bias(items)
        neg = net.scale * (u * net.encode_items(negatives)).sum(-1) + net.item_bias(negatives)
        return -F.logsigmoid(pos - neg)[negatives != items].mean()

    def training_step(self, batch, batch_idx):
        users, items = batch
        loss = self._softmax_loss(users, items) if self.loss_name == "softmax" else self._bpr_loss(users, items)
        self.log_loss("train", loss, len(users))
        return loss

    def validation_step(self, batch, batch_idx):
        (users,) = batch
        chosen = users.cpu().numpy()
        with torch.no_grad():
            top = ranking.rank(self._scores, chosen, self.seen_for_val, self.k)
        scores = ranking.metrics(top, self.val_relevant[chosen], self.meta["n_items"], self.k)
        for name in ("ndcg", "recall"):
            self.log(f"val_{name}", scores[name], prog_bar=name == "ndcg", batch_size=len(users))

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self.net(torch.from_numpy(users).to(self.device)).float().cpu().numpy()


class InteractionsData(RowDataModule):
    """Training batches of (user, item) positives, shuffled; validation batches of users with val items."""

    arrays = ("user", "item")

    def __init__(self, dataset_dir: Path, data_cfg, seed: int):
        super().__init__(dataset_dir, {}, data_cfg, int(seed))

    def drop_last(self, train: bool, rows: int) -> bool:
        return train and rows > self.batch_rows(train)  # in-batch negatives: no short last batch

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        return torch.from_numpy(rows["user"]), torch.from_numpy(rows["item"])

    def val_dataloader(self) -> DataLoader:
        user, _ = dataset.load_split(self.dataset_dir, "val")
        users = torch.from_numpy(np.unique(user))
        return DataLoader(TensorDataset(users), batch_size=ranking.CHUNK)


def build_module(net: Any, cfg: Any, meta: dict, dataset_dir: Path) -> RecommenderModule:
    optimizer, scheduler = optimizers_from(cfg)
    loss = cfg.loss
    return RecommenderModule(net, optimizer, scheduler, meta, dataset_dir, str(loss.name), bool(loss.logq), int(cfg.k))
