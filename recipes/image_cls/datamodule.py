"""Batches straight from the preprocessed uint8 arrays: one indexing op per batch, no per-item work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def keep_batch(batch):
    """The dataset already returns whole batches; nothing to collate."""
    return batch


class ArrayDataset(Dataset):
    """(N, H, W, 3) uint8 images and int labels, normalised (and augmented) a batch at a time."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean, std, augment=None):
        self.images = images  # memory-mapped from the dataset dir: a batch reads its rows only
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.augment = augment

    def __len__(self) -> int:
        return len(self.labels)

    def __getitems__(self, indices: list[int]):
        idx = torch.as_tensor(indices)
        rows = torch.from_numpy(np.ascontiguousarray(self.images[np.asarray(indices, dtype=np.int64)]))
        x = rows.permute(0, 3, 1, 2).float().div_(255.0)
        x = x.sub_(self.mean).div_(self.std)
        if self.augment is not None:
            x = augment_batch(x, self.augment.hflip, self.augment.pad_crop)
        return x, self.labels[idx]

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


class EpochSampler(Sampler):
    """A permutation seeded with seed + epoch, so a plain loop can reproduce the exact order."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.n, generator=generator).tolist())


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's images memory-mapped (never loaded whole: a dataset larger than RAM trains) and its labels."""
    return np.load(dataset_dir / f"{split}_x.npy", mmap_mode="r"), np.load(dataset_dir / f"{split}_y.npy")


class SplitDataModule(pl.LightningDataModule):
    """Loaders over a dataset dir's train/val/test arrays: whole batches from the dataset, a train order that a plain
    loop can reproduce (seed + epoch). Subclasses say how one split becomes a dataset."""

    def __init__(self, dataset_dir: Path, manifest: dict, data_cfg, seed: int):
        super().__init__()
        self.dataset_dir, self.manifest, self.cfg, self.seed = Path(dataset_dir), manifest, data_cfg, seed

    def dataset(self, split: str, train: bool) -> Dataset:
        raise NotImplementedError

    def _loader(self, split: str, train: bool) -> DataLoader:
        data = self.dataset(split, train)
        workers = self.cfg.num_workers
        # Every new iterator draws a worker base seed; without a generator of its own it comes from the global RNG,
        # so whether sanity validation ran would shift the dropout masks of training (see benchmarks/).
        return DataLoader(
            data,
            batch_size=self.cfg.batch_size,
            sampler=EpochSampler(len(data), self.seed) if train else None,
            collate_fn=keep_batch,
            num_workers=workers,
            persistent_workers=workers > 0,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)


class ImageDataModule(SplitDataModule):
    def dataset(self, split: str, train: bool = False) -> ArrayDataset:
        images, labels = load_split(self.dataset_dir, split)
        augment = self.cfg.augment if train else None
        return ArrayDataset(images, labels, self.manifest["mean"], self.manifest["std"], augment)
