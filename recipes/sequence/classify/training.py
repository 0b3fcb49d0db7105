"""Batches of padded sequences for training, and the classifier module for networks that read (values, lengths)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import Dataset

from aiaas_recipes.common.module import Classifier
from aiaas_recipes.sequence.batches import SplitData


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values (N, max_length, features) float32, lengths (N,) int64, labels (N,) int64) of ``split``."""
    folder = Path(dataset_dir)
    return tuple(np.load(folder / f"{split}_{name}.npy") for name in ("x", "len", "y"))


class SequenceDataset(Dataset):
    """A batch is one indexing op, cut after its longest sequence."""

    def __init__(self, values: np.ndarray, lengths: np.ndarray, labels: np.ndarray):
        self.values = torch.from_numpy(np.ascontiguousarray(values))
        self.lengths = torch.from_numpy(lengths.astype(np.int64))
        self.labels = torch.from_numpy(labels.astype(np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitems__(self, indices: list[int]):
        idx = torch.as_tensor(indices)
        longest = max(int(self.lengths[idx].max()), 1)
        return self.values[idx, :longest], self.lengths[idx], self.labels[idx]

    def __getitem__(self, index: int):
        return tuple(part[0] for part in self.__getitems__([index]))


class SequenceData(SplitData):
    def dataset(self, split: str) -> SequenceDataset:
        return SequenceDataset(*load_split(self.dataset_dir, split))


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
