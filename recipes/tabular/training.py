"""Lightning parts for the MLP: batches straight from the split arrays, and the module that trains it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from aiaas_recipes.common.module import Classifier
from aiaas_recipes.image_cls.datamodule import EpochSampler, keep_batch
from aiaas_recipes.tabular.dataset import load_split

VAL_BATCH = 4096  # validation in (nearly) one batch: val_rmse is then the split's RMSE, not a mean of batch RMSEs


class TableRows(Dataset):
    """A batch is one indexing op per array: (numeric?, categorical?, y), the inputs the model has."""

    def __init__(self, numeric: np.ndarray, categorical: np.ndarray, y: np.ndarray):
        self.arrays = [torch.from_numpy(a) for a in (numeric, categorical) if a.shape[1]]
        self.y = torch.from_numpy(y)

    def __len__(self) -> int:
        return len(self.y)

    def __getitems__(self, indices: list[int]):
        idx = torch.as_tensor(indices)
        return (*(a[idx] for a in self.arrays), self.y[idx])

    def __getitem__(self, index: int):
        return tuple(part[0] for part in self.__getitems__([index]))


class TableDataModule(pl.LightningDataModule):
    def __init__(self, dataset_dir: Path, batch_size: int, seed: int):
        super().__init__()
        self.dataset_dir, self.batch_size, self.seed = Path(dataset_dir), int(batch_size), int(seed)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        rows = TableRows(*load_split(self.dataset_dir, split))
        return DataLoader(
            rows,
            batch_size=self.batch_size if shuffle else VAL_BATCH,
            sampler=EpochSampler(len(rows), self.seed) if shuffle else None,
            collate_fn=keep_batch,
            num_workers=0,  # a batch is one indexing op: worker processes would cost more than they save
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)


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
