"""Lightning parts for the MLP: batches straight from the split arrays, and the module that trains it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from aiaas_recipes.common.data.rows import RowDataModule
from aiaas_recipes.common.module import ConfiguredModule

VAL_BATCH = 4096  # validation in (nearly) one batch: val_rmse is then the split's RMSE, not a mean of batch RMSEs


def table_batch(rows: dict[str, np.ndarray]) -> tuple:
    """(numeric?, categorical?, y) tensors: the inputs the model has (an array with no columns is left out)."""
    inputs = [torch.from_numpy(np.ascontiguousarray(rows[k])) for k in ("numeric", "categorical") if rows[k].shape[1]]
    return (*inputs, torch.from_numpy(np.ascontiguousarray(rows["y"])))


class TableDataModule(RowDataModule):
    arrays = ("numeric", "categorical", "y")

    def __init__(self, dataset_dir: Path, data_cfg, seed: int):
        super().__init__(dataset_dir, {}, data_cfg, int(seed))

    def batch_rows(self, train: bool) -> int:
        return super().batch_rows(train) if train else VAL_BATCH

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        return table_batch(rows)


class TabularModule(ConfiguredModule):
    """A TabularMLP on batches of (numeric?, categorical?, y): cross-entropy, or for regression MSE on the
    standardised target; validation accuracy or RMSE."""

    sync_dist = True

    def loss(self, out: torch.Tensor, target: torch.Tensor, train: bool) -> torch.Tensor:
        if self.net.regression:
            # in standard units, so the loss (and the learning rate) does not depend on the target's scale
            return F.mse_loss(out.squeeze(1) / self.net.target_std, target / self.net.target_std)
        return F.cross_entropy(out, target)

    def validation_scores(self, out: torch.Tensor, target: torch.Tensor) -> None:
        if self.net.regression:
            self.log_score("val_rmse", torch.sqrt(F.mse_loss(out.squeeze(1), target)), len(target))
        else:
            self.log_score("val_acc", (out.argmax(-1) == target).float().mean(), len(target))
