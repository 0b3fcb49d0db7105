"""The LightningModule base: optimiser/scheduler from config, checkpoints with ``net.*`` weights and the "aiaas"
metadata, and the (inputs..., target) steps that the classifier and other modules share."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

from aiaas_recipes.common.module import Classifier, ConfiguredModule, optimizers_from

ADAMW = {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 0.01}
COSINE = {"_target_": "torch.optim.lr_scheduler.CosineAnnealingLR", "_partial_": True, "T_max": 2}


def _cfg(scheduler: dict) -> OmegaConf:
    return OmegaConf.create({"optim": ADAMW, "scheduler": scheduler})


def _fit(module: pl.LightningModule, data: TensorDataset, tmp_path) -> dict:
    trainer = pl.Trainer(
        max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    loader = DataLoader(data, batch_size=8)
    trainer.fit(module, loader, loader)
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    return {"metrics": trainer.callback_metrics, "checkpoint": torch.load(tmp_path / "last.ckpt", weights_only=False)}


def test_optimisers_come_from_config():
    optimizer, scheduler = optimizers_from(_cfg({"_target_": None}))
    assert scheduler is None
    built = optimizer(torch.nn.Linear(2, 2).parameters())
    assert isinstance(built, torch.optim.AdamW) and built.defaults["lr"] == 0.01
    _, scheduler = optimizers_from(_cfg(COSINE))
    assert isinstance(scheduler(built), torch.optim.lr_scheduler.CosineAnnealingLR)


def test_the_scheduler_steps_per_epoch():
    module = ConfiguredModule(torch.nn.Linear(2, 2), *optimizers_from(_cfg(COSINE)), meta={})
    wired = module.configure_optimizers()
    assert isinstance(wired["optimizer"], torch.optim.AdamW) and wired["lr_scheduler"]["interval"] == "epoch"
    alone = ConfiguredModule(torch.nn.Linear(2, 2), *optimizers_from(_cfg({"_target_": None})), meta={})
    assert isinstance(alone.configure_optimizers(), torch.optim.AdamW)


def test_a_checkpoint_carries_the_weights_and_the_metadata(tmp_path):
    torch.manual_seed(0)
    meta = {"recipe": "points", "classes": ["a", "b", "c"]}
    module = Classifier(torch.nn.Linear(4, 3), *optimizers_from(_cfg(COSINE)), label_smoothing=0.1, meta=meta)
    data = TensorDataset(torch.randn(32, 4), torch.randint(0, 3, (32,)))
    fitted = _fit(module, data, tmp_path)
    assert fitted["checkpoint"]["aiaas"] == meta
    assert set(fitted["checkpoint"]["state_dict"]) == {"net.weight", "net.bias"}
    assert {"train_loss_epoch", "val_loss", "val_acc"} <= set(fitted["metrics"])


class TwoInputs(torch.nn.Module):
    """Reads (values, lengths), as the sequence networks do."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)
        self.lengths_seen: list[torch.Tensor] = []

    def forward(self, values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        self.lengths_seen.append(lengths)
        return self.linear(values.mean(1))


def test_every_input_before_the_target_reaches_the_network(tmp_path):
    net = TwoInputs()
    module = Classifier(net, *optimizers_from(_cfg({"_target_": None})), label_smoothing=0.0, meta={})
    data = TensorDataset(torch.randn(16, 5, 3), torch.full((16,), 5), torch.randint(0, 2, (16,)))
    _fit(module, data, tmp_path)
    assert net.lengths_seen and all(bool((seen == 5).all()) for seen in net.lengths_seen)
    assert module(torch.randn(2, 5, 3), torch.tensor([5, 5])).shape == (2, 2)
