"""The LightningModule of image-seg: per-pixel cross-entropy (255 = ignore), validation mIoU."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.nn import functional as F

from aiaas_recipes.common.module import FromConfig
from aiaas_recipes.image_seg.images import IGNORE


class Segmenter(FromConfig, pl.LightningModule):
    """Wraps any network that maps (N, 3, H, W) to (N, classes, H, W) logits."""

    def __init__(self, net: torch.nn.Module, optimizer, scheduler, meta: dict):
        super().__init__()
        from torchmetrics.classification import MulticlassJaccardIndex

        self.net = net
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.meta = meta  # written into every checkpoint, so later stages need no config
        self.val_iou = MulticlassJaccardIndex(len(meta["classes"]), ignore_index=IGNORE, average="macro")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y, ignore_index=IGNORE)
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(y))
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", F.cross_entropy(logits, y, ignore_index=IGNORE), prog_bar=True, batch_size=len(y))
        self.val_iou.update(logits.argmax(1), y)
        self.log("val_miou", self.val_iou, prog_bar=True, on_epoch=True, batch_size=len(y))
