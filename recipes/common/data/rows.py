"""A split as row-aligned arrays (`{split}_{name}.npy`) read memory-mapped, and the DataModule base over them.

A recipe names its arrays and says how a batch of rows becomes model input (`make_batch`: normalise, augment, pad,
to tensors); the base does the rest: one fancy-index per array per batch (no per-item work), a train order that a
plain loop can reproduce (seed + epoch), and `data.storage=litdata` (the same rows streamed from LitData shards,
`shards.py`). A split is never loaded whole, so a dataset larger than RAM trains.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

FORMATS = ("npy", "litdata")


def keep_batch(batch):
    """The dataset already returns whole batches; nothing to collate."""
    return batch


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


def open_split(dataset_dir: Path, split: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The split's arrays, memory-mapped: reading a batch touches its rows only."""
    return {name: np.load(Path(dataset_dir) / f"{split}_{name}.npy", mmap_mode="r") for name in names}


def take(arrays: dict[str, np.ndarray], indices) -> dict[str, np.ndarray]:
    """The rows at ``indices`` of every array: one fancy-index each, copied out of the map."""
    idx = np.asarray(indices, dtype=np.int64)
    return {name: np.ascontiguousarray(array[idx]) for name, array in arrays.items()}


def first(batch: Any) -> Any:
    """Item 0 of a batch of any nesting (tensor, tuple/list, dict); what is not indexed per row stays as it is."""
    if isinstance(batch, dict):
        return {key: first(value) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(first(value) for value in batch)
    return batch[0] if hasattr(batch, "__getitem__") else batch


class RowDataset(Dataset):
    """Row-aligned arrays; ``make_batch`` turns the rows of a batch into what the model eats."""

    def __init__(self, arrays: dict[str, np.ndarray], make_batch: Callable[[dict[str, np.ndarray]], Any]):
        self.arrays, self.make_batch = arrays, make_batch
        self.n = len(next(iter(arrays.values())))

    def __len__(self) -> int:
        return self.n

    def __getitems__(self, indices: list[int]):
        return self.make_batch(take(self.arrays, indices))

    def __getitem__(self, index: int):
        return first(self.__getitems__([index]))


class SplitDataModule(pl.LightningDataModule):
    """Loaders over a dataset dir's train/val/test splits: whole batches from the dataset, a train order that a plain
    loop can reproduce (seed + epoch). Subclasses say how one split becomes a dataset."""

    def __init__(self, dataset_dir: Path, manifest: dict, data_cfg, seed: int):
        super().__init__()
        self.dataset_dir, self.manifest, self.cfg, self.seed = Path(dataset_dir), manifest, data_cfg, seed

    def dataset(self, split: str, train: bool) -> Dataset:
        raise NotImplementedError

    def batch_rows(self, train: bool) -> int:
        """Rows per batch: data.batch_size (a recipe may validate in bigger batches)."""
        return int(self.cfg.batch_size)

    def drop_last(self, train: bool, rows: int) -> bool:
        """Whether a short last batch is dropped (a recipe whose loss needs full batches says so)."""
        return False

    def sampler(self, data: Dataset) -> Sampler:
        """The train order: a permutation seeded with seed + epoch (a recipe may draw otherwise, e.g. by class)."""
        return EpochSampler(len(data), self.seed)

    def _loader(self, split: str, train: bool) -> DataLoader:
        data = self.dataset(split, train)
        workers = int(self.cfg.get("num_workers", 0))
        # Every new iterator draws a worker base seed; without a generator of its own it comes from the global RNG,
        # so whether sanity validation ran would shift the dropout masks of training (see benchmarks/).
        return DataLoader(
            data,
            batch_size=self.batch_rows(train),
            sampler=self.sampler(data) if train else None,
            drop_last=self.drop_last(train, len(data)),
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


class RowDataModule(SplitDataModule):
    """A SplitDataModule whose splits are the row-aligned arrays ``arrays``, memory-mapped (data.storage=npy) or
    streamed from LitData shards (data.storage=litdata). Subclasses set ``arrays`` and write ``make_batch``."""

    arrays: tuple[str, ...] = ()
    streams = True  # read by the train stage: data.storage=litdata works with this datamodule

    def make_batch(self, rows: dict[str, np.ndarray], train: bool) -> Any:
        raise NotImplementedError

    @property
    def storage(self) -> str:
        return str(self.cfg.get("storage", "npy"))

    def dataset(self, split: str, train: bool = False) -> RowDataset:
        return RowDataset(open_split(self.dataset_dir, split, self.arrays), partial(self.make_batch, train=train))

    def prepare_data(self) -> None:
        if self.storage == "litdata":  # Lightning calls this on one process per node, before the loaders
            from aiaas_recipes.common.data import shards

            shards.write_splits(self, ("train", "val"))

    def _loader(self, split: str, train: bool):
        if self.storage != "litdata":
            return super()._loader(split, train)
        from aiaas_recipes.common.data import shards

        return shards.loader(self, split, train)
