"""The LightningModule of image-seg: per-pixel cross-entropy (255 = ignore), validation mIoU."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from aiaas_recipes.common.module import ConfiguredModule
from aiaas_recipes.image_seg.images import IGNORE


class Segmenter(ConfiguredModule):
    """Wraps any network that maps (N, 3, H, W) to (N, classes, H, W) logits."""

    def __init__(self, net: torch.nn.Module, optimizer, scheduler, meta: dict):
        super().__init__(net, optimizer, scheduler, meta)
        from torchmetrics.classification import MulticlassJaccardIndex

        self.val_iou = MulticlassJaccardIndex(len(meta["classes"]), ignore_index=IGNORE, average="macro")

    def loss(self, out: torch.Tensor, target: torch.Tensor, train: bool) -> torch.Tensor:
        return F.cross_entropy(out, target, ignore_index=IGNORE)

    def validation_scores(self, out: torch.Tensor, target: torch.Tensor) -> None:
        self.val_iou.update(out.argmax(1), target)
        self.log("val_miou", self.val_iou, prog_bar=True, on_epoch=True, batch_size=len(target))
