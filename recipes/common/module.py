"""The LightningModule of classification recipes: a network, cross-entropy, the optimiser/scheduler from config."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.nn import functional as F


class FromConfig:
    """The optimiser/scheduler from config and the checkpoint's "aiaas" metadata, shared by every LightningModule
    of the recipes (they set optimizer_factory, scheduler_factory and meta)."""

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": self.scheduler_factory(optimizer), "interval": "epoch"},
        }

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["aiaas"] = self.meta


class Classifier(FromConfig, pl.LightningModule):
    """Wraps any network that maps a batch to class logits."""

    def __init__(
        self, net: torch.nn.Module, optimizer, scheduler, label_smoothing: float, meta: dict, class_weights=None
    ):
        super().__init__()
        self.net = net
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.label_smoothing = label_smoothing
        self.meta = meta  # written into every checkpoint, so later stages need no config
        # a buffer, so it follows the module to the training device; None: every class weighs the same
        weights = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        self.register_buffer("class_weights", weights, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y, weight=self.class_weights, label_smoothing=self.label_smoothing)
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(y), sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", F.cross_entropy(logits, y), prog_bar=True, batch_size=len(y), sync_dist=True)
        self.log("val_acc", (logits.argmax(-1) == y).float().mean(), prog_bar=True, batch_size=len(y), sync_dist=True)
