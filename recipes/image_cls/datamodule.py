"""Batches straight from the preprocessed uint8 arrays: one indexing op per batch, no per-item work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.data.rows import RowDataModule, RowDataset, open_split
from aiaas_recipes.common.vision.batches import Standardiser, augment_batch


class ImageBatches:
    """Rows x (B, H, W, 3) uint8 and y (B,) -> normalised (and augmented) float images, int64 labels."""

    def __init__(self, mean, std, augment=None):
        self.standardiser = Standardiser(mean, std)
        self.augment = augment

    def __call__(self, rows: dict[str, np.ndarray]):
        x = self.standardiser(rows["x"])
        if self.augment is not None:
            x = augment_batch(x, self.augment.hflip, self.augment.pad_crop)
        return x, torch.from_numpy(np.asarray(rows["y"], dtype=np.int64))


class ArrayDataset(RowDataset):
    """(N, H, W, 3) uint8 images and int labels (memory-mapped: a batch reads its rows only), normalised (and
    augmented) a batch at a time."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean, std, augment=None):
        super().__init__({"x": images, "y": labels}, ImageBatches(mean, std, augment))


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's images and labels, memory-mapped (never loaded whole: a dataset larger than RAM trains)."""
    arrays = open_split(dataset_dir, split, ("x", "y"))
    return arrays["x"], arrays["y"]


class ImageDataModule(RowDataModule):
    arrays = ("x", "y")

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        augment = self.cfg.augment if train else None
        return ImageBatches(self.manifest["mean"], self.manifest["std"], augment)(rows)
