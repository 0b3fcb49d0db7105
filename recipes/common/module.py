"""The LightningModule base of every recipe: a network, the optimiser/scheduler factories from config, the
checkpoint's "aiaas" metadata; and the classification module built on it."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch.nn import functional as F


def optimizers_from(cfg: Any) -> tuple[Any, Any]:
    """(optimiser factory, scheduler factory or None): ``cfg.optim`` and ``cfg.scheduler`` instantiated as partials
    that take the parameters (the optimiser) when Lightning asks for them."""
    from aiaas_cli.config import instantiate

    scheduler = instantiate(cfg.scheduler) if cfg.scheduler.get("_target_") else None
    return instantiate(cfg.optim), scheduler


class ConfiguredModule(pl.LightningModule):
    """Owns ``net`` (state_dict keys ``net.*``), the optimiser and scheduler wiring, and writes ``meta`` into every
    checkpoint as "aiaas", so later stages need no config.

    For a batch of ``(*inputs, target)`` a subclass only gives ``loss`` (and ``validation_scores``); other batches
    bring their own ``training_step``/``validation_step``.
    """

    sync_dist = False  # True: logged values are averaged across devices (distributed training)

    def __init__(self, net: torch.nn.Module, optimizer, scheduler, meta: dict):
        super().__init__()
        self.net = net
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.meta = meta

    def forward(self, *inputs: torch.Tensor) -> Any:
        return self.net(*inputs)

    def loss(self, out: Any, target: torch.Tensor, train: bool) -> torch.Tensor:
        raise NotImplementedError

    def validation_scores(self, out: Any, target: torch.Tensor) -> None:
        """Log (or gather) validation metrics beyond the loss."""

    def training_step(self, batch, batch_idx):
        *inputs, target = batch
        loss = self.loss(self.net(*inputs), target, train=True)
        self.log_loss("train", loss, len(target))
        return loss

    def validation_step(self, batch, batch_idx):
        *inputs, target = batch
        out = self.net(*inputs)
        self.log_loss("val", self.loss(out, target, train=False), len(target))
        self.validation_scores(out, target)

    def log_loss(self, stage: str, loss: torch.Tensor, size: int) -> None:
        """``{stage}_loss`` in the progress bar: per step and per epoch in training, per epoch in validation."""
        train = stage == "train"
        self.log(f"{stage}_loss", loss, on_step=train, on_epoch=True, prog_bar=True, batch_size=size,
                 sync_dist=self.sync_dist)  # fmt: skip

    def log_score(self, name: str, value: Any, size: int) -> None:
        """A validation metric in the progress bar, per epoch."""
        self.log(name, value, prog_bar=True, batch_size=size, sync_dist=self.sync_dist)

    def parameter_groups(self) -> Any:
        """The parameters, or with ``backbone_lr`` set and some weights pretrained (``pretrained_names``, see
        aiaas_cli/training/finetune.py) two groups: the new weights at optim.lr, the pretrained ones at backbone_lr."""
        names = getattr(self, "pretrained_names", None)
        backbone_lr = getattr(self, "backbone_lr", None)
        if not names or backbone_lr is None:
            return self.parameters()
        named = list(self.named_parameters())
        groups = [
            {"params": [p for name, p in named if name not in names]},  # the optimiser's own lr
            {"params": [p for name, p in named if name in names], "lr": float(backbone_lr)},
        ]
        return [group for group in groups if group["params"]]

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameter_groups())
        if self.scheduler_factory is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": self.scheduler_factory(optimizer), "interval": "epoch"},
        }

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["aiaas"] = self.meta


class Classifier(ConfiguredModule):
    """Wraps any network that maps a batch's inputs (one tensor or several, e.g. values and lengths) to class logits:
    cross-entropy (label smoothing and class weights in training), validation accuracy."""

    sync_dist = True

    def __init__(
        self, net: torch.nn.Module, optimizer, scheduler, label_smoothing: float, meta: dict, class_weights=None
    ):
        super().__init__(net, optimizer, scheduler, meta)
        self.label_smoothing = label_smoothing
        # a buffer, so it follows the module to the training device; None: every class weighs the same
        weights = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        self.register_buffer("class_weights", weights, persistent=False)

    def loss(self, out: torch.Tensor, target: torch.Tensor, train: bool) -> torch.Tensor:
        if not train:
            return F.cross_entropy(out, target)
        return F.cross_entropy(out, target, weight=self.class_weights, label_smoothing=self.label_smoothing)

    def validation_scores(self, out: torch.Tensor, target: torch.Tensor) -> None:
        self.log_score("val_acc", (out.argmax(-1) == target).float().mean(), len(target))
