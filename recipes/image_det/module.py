"""The LightningModule of image-det: focal heatmap + L1 box loss, validation mAP (torchmetrics, COCO backend)."""

from __future__ import annotations

import torch

from aiaas_recipes.common.module import ConfiguredModule
from aiaas_recipes.image_det.targets import detection_loss


class Detector(ConfiguredModule):
    """Wraps a network with ``raw`` (for the loss) and ``forward`` (peak scores, boxes) like model.CenterNet."""

    def __init__(self, net: torch.nn.Module, optimizer, scheduler, meta: dict):
        super().__init__(net, optimizer, scheduler, meta)
        from aiaas_recipes.image_det.metrics import new_map

        self.val_map = new_map(class_metrics=False)

    def training_step(self, batch, batch_idx):
        x, boxes, labels = batch
        loss, heat, box = detection_loss(self.net, x, boxes, labels)
        self.log_loss("train", loss, len(x))
        self.log_dict({"train_heat_loss": heat, "train_box_loss": box}, on_epoch=True, batch_size=len(x))
        return loss

    def validation_step(self, batch, batch_idx):
        from aiaas_recipes.image_det.metrics import as_preds, as_targets

        x, boxes, labels = batch
        loss, _, _ = detection_loss(self.net, x, boxes, labels)
        self.log_loss("val", loss, len(x))
        scores, decoded = self.net(x)
        outputs = {"scores": scores.cpu().numpy(), "boxes": decoded.cpu().numpy()}
        self.val_map.update(as_preds(outputs), as_targets(boxes, labels))

    def on_validation_epoch_end(self):
        result = self.val_map.compute()
        self.log_dict({"val_map": result["map"], "val_map50": result["map_50"]}, prog_bar=True)
        self.val_map.reset()
