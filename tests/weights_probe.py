"""A callback for tests: the module's parameters when training starts and after each epoch, and the optimiser's
parameter groups, saved to a file (``+trainer.callbacks.probe._target_=weights_probe.WeightsProbe``)."""

from __future__ import annotations

import pytorch_lightning as pl
import torch


class WeightsProbe(pl.Callback):
    def __init__(self, out: str):
        self.out = out
        self.seen: dict = {"epochs": []}

    def _parameters(self, pl_module) -> dict:
        return {name: p.detach().clone() for name, p in pl_module.named_parameters()}

    def on_train_start(self, trainer, pl_module):
        groups = trainer.optimizers[0].param_groups
        self.seen["start"] = self._parameters(pl_module)
        self.seen["groups"] = [{"size": len(g["params"]), "lr": g["lr"]} for g in groups]
        self.seen["pretrained"] = sorted(getattr(pl_module, "pretrained_names", ()))
        torch.save(self.seen, self.out)

    def on_train_epoch_end(self, trainer, pl_module):
        self.seen["epochs"].append(self._parameters(pl_module))
        torch.save(self.seen, self.out)
