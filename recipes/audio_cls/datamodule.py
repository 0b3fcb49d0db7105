"""Batches of preprocessed log-mels (float32 arrays in the dataset dir)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    return np.load(Path(dataset_dir) / f"{split}_x.npy"), np.load(Path(dataset_dir) / f"{split}_y.npy")


class AudioDataModule(pl.LightningDataModule):
    def __init__(self, dataset_dir: Path, data_cfg, seed: int):
        super().__init__()
        self.dataset_dir, self.cfg, self.seed = Path(dataset_dir), data_cfg, seed

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        x, y = load_split(self.dataset_dir, split)
        data = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        return DataLoader(
            data,
            batch_size=int(self.cfg.batch_size),
            shuffle=shuffle,
            num_workers=int(self.cfg.num_workers),
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
