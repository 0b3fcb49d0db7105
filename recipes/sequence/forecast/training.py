"""Batches of scaled windows for training, and the LightningModule that fits a forecasting network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import Dataset

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.module import ConfiguredModule
from aiaas_recipes.sequence.batches import SplitData
from aiaas_recipes.sequence.forecast import windows

LOSSES = {"mae": F.l1_loss, "mse": F.mse_loss, "huber": F.smooth_l1_loss}


class WindowDataset(Dataset):
    """Windows cut from the series a batch at a time: (scaled context, scaled future)."""

    def __init__(self, series: np.ndarray, origins: np.ndarray, meta: dict):
        self.series, self.origins, self.meta = series, origins, meta

    def __len__(self) -> int:
        return len(self.origins)

    def __getitems__(self, indices: list[int]):
        x, y, _ = windows.scaled(self.series, self.origins[np.asarray(indices)], self.meta)
        return torch.from_numpy(x), torch.from_numpy(y)

    def __getitem__(self, index: int):
        x, y = self.__getitems__([index])
        return x[0], y[0]


class WindowData(SplitData):
    def __init__(self, dataset_dir: Path, meta: dict, batch_size: int, seed: int):
        super().__init__(dataset_dir, batch_size, seed)
        self.meta = meta

    def dataset(self, split: str) -> WindowDataset:
        return WindowDataset(*windows.load(self.dataset_dir, split), self.meta)


class Forecaster(ConfiguredModule):
    """A forecasting network on batches of (scaled context, scaled future): the configured loss on that scale,
    and the validation MAE."""

    sync_dist = True

    def __init__(self, net: torch.nn.Module, optimizer, scheduler, loss: str, meta: dict):
        if loss not in LOSSES:
            raise ConfigError(f"loss.kind={loss} is not one of {', '.join(LOSSES)}")
        super().__init__(net, optimizer, scheduler, meta)
        self.loss_fn = LOSSES[loss]

    def loss(self, out: torch.Tensor, target: torch.Tensor, train: bool) -> torch.Tensor:
        return self.loss_fn(out, target)

    def validation_scores(self, out: torch.Tensor, target: torch.Tensor) -> None:
        self.log_score("val_mae", F.l1_loss(out, target), len(target))
