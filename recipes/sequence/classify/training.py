"""Batches of padded sequences for training: (values, lengths, labels), which the shared Classifier reads as
(inputs..., target) and passes to networks as ``net(values, lengths)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.data.rows import RowDataModule, RowDataset, open_split


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
