"""Batches straight from the preprocessed uint8 arrays: one indexing op per batch, no per-item work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from aiaas_recipes.common.rows import EpochSampler, RowDataModule, SplitDataModule, keep_batch, open_split

__all__ = ["ArrayDataset", "EpochSampler", "ImageDataModule", "SplitDataModule", "keep_batch", "load_split"]


class ImageBatches:
    """(B, H, W, 3) uint8 rows and int labels -> normalised (and augmented) float images, int64 labels."""

    def __init__(self, mean, std, augment=None):
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.augment = augment

    def __call__(self, images: np.ndarray, labels: np.ndarray):
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
        x = x.sub_(self.mean).div_(self.std)
        if self.augment is not None:
            x = augment_batch(x, self.augment.hflip, self.augment.pad_crop)
        return x, torch.from_numpy(np.asarray(labels, dtype=np.int64))


class ArrayDataset(Dataset):
    """(N, H, W, 3) uint8 images and int labels, normalised (and augmented) a batch at a time."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean, std, augment=None):
        self.images = images  # memory-mapped from the dataset dir: a batch reads its rows only
        self.labels = np.asarray(labels)
        self.batches = ImageBatches(mean, std, augment)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitems__(self, indices: list[int]):
        idx = np.asarray(indices, dtype=np.int64)
        return self.batches(np.ascontiguousarray(self.images[idx]), self.labels[idx])

    def __getitem__(self, index: int):
        x, y = self.__getitems__([index])
        return x[0], y[0]


def augment_batch(x: torch.Tensor, hflip: bool, pad: int) -> torch.Tensor:
    """Random horizontal flips and random shifts of up to ``pad`` pixels."""
    if hflip:
        flip = torch.rand(len(x)) < 0.5
        x[flip] = x[flip].flip(-1)
    if pad > 0:
        h, w = x.shape[-2:]
        padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
        offsets = torch.randint(0, 2 * pad + 1, (len(x), 2)).tolist()
        x = torch.stack([padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offsets)])
    return x


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's images and labels, memory-mapped (never loaded whole: a dataset larger than RAM trains)."""
    arrays = open_split(dataset_dir, split, ("x", "y"))
    return arrays["x"], arrays["y"]


class ImageDataModule(RowDataModule):
    arrays = ("x", "y")

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        augment = self.cfg.augment if train else None
        return ImageBatches(self.manifest["mean"], self.manifest["std"], augment)(rows["x"], rows["y"])
