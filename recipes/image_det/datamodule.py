"""Batches of images and their boxes straight from the preprocessed arrays, with box-keeping augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from aiaas_recipes.common.data.rows import SplitDataModule
from aiaas_recipes.common.vision.batches import Standardiser
from aiaas_recipes.image_det.augment import augment


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Images (N, S, S, 3), memory-mapped (a batch reads its rows only), and per image its (K, 4) boxes (input
    pixels) and (K,) labels (small: read whole)."""
    folder = Path(dataset_dir)
    images = np.load(folder / f"{split}_x.npy", mmap_mode="r")
    boxes, labels = np.load(folder / f"{split}_boxes.npy"), np.load(folder / f"{split}_labels.npy")
    offsets = np.load(folder / f"{split}_offsets.npy")
    cuts = list(zip(offsets[:-1], offsets[1:]))
    return images, [boxes[a:b] for a, b in cuts], [labels[a:b] for a, b in cuts]


class BoxDataset(Dataset):
    """Normalised image batches with their box lists; ``augment``: data.augment (flips, zoom, colour)."""

    def __init__(self, images: np.ndarray, boxes: list, labels: list, mean, std, augment=None):
        self.images = images  # memory-mapped or in memory; a batch copies out its rows
        self.boxes = [torch.from_numpy(np.asarray(b, np.float32)) for b in boxes]
        self.labels = [torch.from_numpy(np.asarray(lab, np.int64)) for lab in labels]
        self.standardiser = Standardiser(mean, std)
        self.augment = augment

    def __len__(self) -> int:
        return len(self.images)

    def __getitems__(self, indices: list[int]):
        rows = np.ascontiguousarray(self.images[np.asarray(indices, dtype=np.int64)])
        x = self.standardiser.scale(rows)
        boxes, labels = [self.boxes[i] for i in indices], [self.labels[i] for i in indices]
        if self.augment:
            x, boxes, labels = augment(x, boxes, labels, self.augment)
        return self.standardiser.standardise(x), boxes, labels

    def __getitem__(self, index: int):
        x, boxes, labels = self.__getitems__([index])
        return x[0], boxes[0], labels[0]


class BoxDataModule(SplitDataModule):
    def dataset(self, split: str, train: bool) -> BoxDataset:
        mean, std = self.manifest["mean"], self.manifest["std"]
        return BoxDataset(*load_split(self.dataset_dir, split), mean, std, self.cfg.augment if train else None)
