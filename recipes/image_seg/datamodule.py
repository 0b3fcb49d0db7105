"""Batches straight from the preprocessed arrays; flips move image and mask together."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from aiaas_recipes.common.rows import RowDataModule, open_split


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's images and masks, memory-mapped."""
    arrays = open_split(dataset_dir, split, ("x", "y"))
    return arrays["x"], arrays["y"]


class MaskBatches:
    """(B, H, W, 3) uint8 images and (B, H, W) class-index masks -> normalised images, int64 masks (flipped)."""

    def __init__(self, mean, std, flips: bool = False):
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.flips = flips

    def __call__(self, images: np.ndarray, masks: np.ndarray):
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0).sub_(self.mean).div_(self.std)
        y = torch.from_numpy(np.asarray(masks, dtype=np.int64))
        if self.flips:  # horizontal and vertical flips: the shapes look the same either way
            for dim, axis in ((-1, -1), (-2, -2)):
                flip = torch.rand(len(x)) < 0.5
                x[flip], y[flip] = x[flip].flip(dim), y[flip].flip(axis)
        return x, y


class MaskDataset(Dataset):
    """(N, H, W, 3) uint8 images and (N, H, W) class-index masks, normalised a batch at a time."""

    def __init__(self, images: np.ndarray, masks: np.ndarray, mean, std, flips: bool = False):
        self.images, self.masks = images, masks
        self.batches = MaskBatches(mean, std, flips)

    def __len__(self) -> int:
        return len(self.masks)

    def __getitems__(self, indices: list[int]):
        idx = np.asarray(indices, dtype=np.int64)
        return self.batches(np.ascontiguousarray(self.images[idx]), self.masks[idx])

    def __getitem__(self, index: int):
        x, y = self.__getitems__([index])
        return x[0], y[0]


class MaskDataModule(RowDataModule):
    arrays = ("x", "y")

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        flips = bool(train and self.cfg.augment.flips)
        return MaskBatches(self.manifest["mean"], self.manifest["std"], flips)(rows["x"], rows["y"])
