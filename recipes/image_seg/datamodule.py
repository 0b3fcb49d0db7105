"""Batches straight from the preprocessed arrays; flips move image and mask together."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from aiaas_recipes.image_cls.datamodule import EpochSampler, keep_batch


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


class MaskDataModule(pl.LightningDataModule):
    def __init__(self, dataset_dir: Path, manifest: dict, data_cfg, seed: int):
        super().__init__()
        self.dataset_dir, self.manifest, self.cfg, self.seed = Path(dataset_dir), manifest, data_cfg, seed

    def _loader(self, split: str, train: bool) -> DataLoader:
        images, masks = load_split(self.dataset_dir, split)
        data = MaskDataset(images, masks, self.manifest["mean"], self.manifest["std"], train and self.cfg.augment.flips)
        return DataLoader(
            data,
            batch_size=self.cfg.batch_size,
            sampler=EpochSampler(len(data), self.seed) if train else None,
            collate_fn=keep_batch,
            num_workers=self.cfg.num_workers,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)
