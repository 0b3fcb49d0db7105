"""Batches straight from the preprocessed arrays; flips move image and mask together."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from aiaas_recipes.image_cls.datamodule import SplitDataModule


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    return np.load(Path(dataset_dir) / f"{split}_x.npy"), np.load(Path(dataset_dir) / f"{split}_y.npy")


class MaskDataset(Dataset):
    """(N, H, W, 3) uint8 images and (N, H, W) class-index masks, normalised a batch at a time."""

    def __init__(self, images: np.ndarray, masks: np.ndarray, mean, std, flips: bool = False):
        self.images = torch.from_numpy(np.ascontiguousarray(images))
        self.masks = torch.from_numpy(np.asarray(masks, dtype=np.int64))
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.flips = flips

    def __len__(self) -> int:
        return len(self.masks)

    def __getitems__(self, indices: list[int]):
        idx = torch.as_tensor(indices)
        x = self.images[idx].permute(0, 3, 1, 2).float().div_(255.0).sub_(self.mean).div_(self.std)
        y = self.masks[idx]
        if self.flips:  # horizontal and vertical flips: the shapes look the same either way
            for dim, axis in ((-1, -1), (-2, -2)):
                flip = torch.rand(len(x)) < 0.5
                x[flip], y[flip] = x[flip].flip(dim), y[flip].flip(axis)
        return x, y

    def __getitem__(self, index: int):
        x, y = self.__getitems__([index])
        return x[0], y[0]


class MaskDataModule(SplitDataModule):
    def dataset(self, split: str, train: bool) -> MaskDataset:
        images, masks = load_split(self.dataset_dir, split)
        return MaskDataset(images, masks, self.manifest["mean"], self.manifest["std"], train and self.cfg.augment.flips)
