"""Batches of padded token ids from the dataset dir, trimmed to the longest text in each batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from aiaas_cli.errors import ConfigError
from aiaas_recipes.image_cls.datamodule import EpochSampler, keep_batch

BALANCE = ("none", "class_weights", "sampler")


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (N, max_length) int64 and labels of ``split``."""
    ids = np.load(Path(dataset_dir) / f"{split}_ids.npy").astype(np.int64)
    return ids, np.load(Path(dataset_dir) / f"{split}_y.npy")


class IdsDataset(Dataset):
    """A batch is one indexing op; columns past its longest text are cut (short posts need ~30 of 64+)."""

    def __init__(self, ids: np.ndarray, labels: np.ndarray):
        self.ids = torch.from_numpy(ids)
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self.lengths = (self.ids != 0).sum(1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitems__(self, indices: list[int]):
        idx = torch.as_tensor(indices)
        longest = max(int(self.lengths[idx].max()), 1)
        return self.ids[idx, :longest], self.labels[idx]

    def __getitem__(self, index: int):
        x, y = self.__getitems__([index])
        return x[0], y[0]


def class_weights(counts: dict[str, int]) -> list[float]:
    """Inverse-frequency weights, mean 1 over the classes ("balanced" in scikit-learn's sense)."""
    values = np.maximum(np.asarray(list(counts.values()), dtype=np.float64), 1.0)
    return (values.sum() / (len(values) * values)).round(6).tolist()


def check_balance(mode: str) -> None:
    if mode not in BALANCE:
        raise ConfigError(f"data.balance={mode} is not one of {', '.join(BALANCE)}")


class TextDataModule(pl.LightningDataModule):
    def __init__(self, dataset_dir: Path, manifest: dict, data_cfg, seed: int):
        super().__init__()
        check_balance(data_cfg.balance)
        self.dataset_dir, self.manifest, self.cfg, self.seed = Path(dataset_dir), manifest, data_cfg, seed

    def dataset(self, split: str) -> IdsDataset:
        return IdsDataset(*load_split(self.dataset_dir, split))

    def _sampler(self, data: IdsDataset):
        if self.cfg.balance != "sampler":
            return EpochSampler(len(data), self.seed)
        # each class drawn equally often: weight 1/count per sample
        weights = torch.as_tensor(class_weights(self.manifest["counts"]["train"]), dtype=torch.double)[data.labels]
        return WeightedRandomSampler(weights, len(data), generator=torch.Generator().manual_seed(self.seed))

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        data = self.dataset(split)
        return DataLoader(
            data,
            batch_size=self.cfg.batch_size,
            sampler=self._sampler(data) if shuffle else None,
            collate_fn=keep_batch,
            num_workers=0,  # batches are one indexing op: worker processes would cost more than they save
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)
