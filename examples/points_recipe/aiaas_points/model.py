"""The network and the data module (torch: used for training and export, never for serving)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset


class PointsMLP(torch.nn.Module):
    def __init__(self, num_classes: int, hidden: int = 16):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(2, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def load(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    return np.load(dataset_dir / f"{split}_x.npy"), np.load(dataset_dir / f"{split}_y.npy")


class PointsData(pl.LightningDataModule):
    def __init__(self, dataset_dir: Path, batch_size: int, seed: int):
        super().__init__()
        self.dataset_dir, self.batch_size, self.seed = Path(dataset_dir), batch_size, seed

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        x, y = load(self.dataset_dir, split)
        data = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(data, batch_size=self.batch_size, shuffle=shuffle, generator=generator)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", False)
