"""Batches of preprocessed log-mels (float32 arrays in the dataset dir), read memory-mapped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.data.rows import RowDataModule, open_split


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's (N, n_mels, frames) log-mels and labels, memory-mapped."""
    arrays = open_split(dataset_dir, split, ("x", "y"))
    return arrays["x"], arrays["y"]


class AudioDataModule(RowDataModule):
    arrays = ("x", "y")

    def __init__(self, dataset_dir: Path, data_cfg, seed: int):
        super().__init__(dataset_dir, {}, data_cfg, seed)

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        return torch.from_numpy(rows["x"]), torch.from_numpy(rows["y"])
