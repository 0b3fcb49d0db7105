"""Batches of padded sequences for training, and the classifier module for networks that read (values, lengths)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from aiaas_recipes.common.module import Classifier
from aiaas_recipes.common.rows import RowDataModule, RowDataset, open_split


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values (N, max_length, features) float32, lengths (N,), labels (N,)) of ``split``, memory-mapped."""
    arrays = open_split(dataset_dir, split, ("x", "len", "y"))
    return arrays["x"], arrays["len"], arrays["y"]


def sequence_batch(rows: dict[str, np.ndarray]):
    """(values, lengths, labels) tensors of a batch, the values cut after its longest sequence."""
    lengths = torch.from_numpy(np.asarray(rows["len"], dtype=np.int64))
    longest = max(int(lengths.max()), 1) if len(lengths) else 1
    values = torch.from_numpy(np.ascontiguousarray(rows["x"][:, :longest]))
    return values, lengths, torch.from_numpy(np.asarray(rows["y"], dtype=np.int64))


class SequenceDataset(RowDataset):
    """A batch is one indexing op per array, cut after its longest sequence."""

    def __init__(self, values: np.ndarray, lengths: np.ndarray, labels: np.ndarray):
        super().__init__({"x": values, "len": lengths, "y": labels}, sequence_batch)


class SequenceData(RowDataModule):
    arrays = ("x", "len", "y")

    def __init__(self, dataset_dir: Path, data_cfg, seed: int):
        super().__init__(dataset_dir, {}, data_cfg, int(seed))

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        return sequence_batch(rows)


class SequenceClassifier(Classifier):
    """The shared Classifier (optimiser, scheduler, checkpoint metadata) for a batch of (values, lengths, labels):
    its steps call ``net(values, lengths)`` where the shared one calls ``net(x)``."""

    def forward(self, values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.net(values, lengths)

    def training_step(self, batch, batch_idx):
        values, lengths, y = batch
        logits = self(values, lengths)
        loss = F.cross_entropy(logits, y, weight=self.class_weights, label_smoothing=self.label_smoothing)
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(y), sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        values, lengths, y = batch
        logits = self(values, lengths)
        self.log("val_loss", F.cross_entropy(logits, y), prog_bar=True, batch_size=len(y), sync_dist=True)
        self.log("val_acc", (logits.argmax(-1) == y).float().mean(), prog_bar=True, batch_size=len(y), sync_dist=True)
