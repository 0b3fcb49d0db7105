"""Lightning parts for the MLP: batches straight from the split arrays, and the module that trains it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from aiaas_recipes.common.module import Classifier
from aiaas_recipes.common.rows import RowDataModule

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


class TabularModule(Classifier):
    """Classifier's optimiser, scheduler and checkpoint metadata around a TabularMLP; its own steps, for the
    two inputs and for regression (MSE on the standardised target)."""

    def __init__(self, net: torch.nn.Module, optimizer, scheduler, meta: dict):
        super().__init__(net, optimizer, scheduler, label_smoothing=0.0, meta=meta)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.net(*inputs)

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.net.regression:
            # in standard units, so the loss (and the learning rate) does not depend on the target's scale
            return F.mse_loss(out.squeeze(1) / self.net.target_std, y / self.net.target_std)
        return F.cross_entropy(out, y)

    def training_step(self, batch, batch_idx):
        *inputs, y = batch
        loss = self._loss(self.net(*inputs), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(y), sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        *inputs, y = batch
        out = self.net(*inputs)
        log = {"prog_bar": True, "batch_size": len(y), "sync_dist": True}
        self.log("val_loss", self._loss(out, y), **log)
        if self.net.regression:
            self.log("val_rmse", torch.sqrt(F.mse_loss(out.squeeze(1), y)), **log)
        else:
            self.log("val_acc", (out.argmax(-1) == y).float().mean(), **log)
