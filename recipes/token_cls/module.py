"""The LightningModule of token-cls: per-sub-token cross-entropy on first sub-tokens, entity F1 on validation."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.nn import functional as F

from aiaas_recipes.common.module import FromConfig
from aiaas_recipes.token_cls.dataset import IGNORE
from aiaas_recipes.token_cls.decode import Decoder, word_tags


class Tagger(FromConfig, pl.LightningModule):
    """Wraps a network that maps (batch, sequence) ids to (batch, sequence, tags) logits."""

    def __init__(self, net: torch.nn.Module, optimizer, scheduler, meta: dict):
        super().__init__()
        self.net = net
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.meta = meta  # written into every checkpoint, so later stages need no config
        self.decoder = Decoder(meta["tags"])
        self.val_words: list[tuple[list[str], list[str]]] = []

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.net(ids)

    def _loss(self, logits: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.flatten(0, 1), tags.flatten().long(), ignore_index=IGNORE)

    def training_step(self, batch, batch_idx):
        ids, tags = batch
        loss = self._loss(self.net(ids), tags)
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(ids), sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        ids, tags = batch
        logits = self.net(ids)
        self.log("val_loss", self._loss(logits, tags), prog_bar=True, batch_size=len(ids), sync_dist=True)
        self.val_words += word_tags(self.decoder, logits.float().cpu().numpy(), tags.cpu().numpy())

    def on_validation_epoch_end(self) -> None:
        from seqeval.metrics import f1_score
        from seqeval.scheme import IOB2

        if self.val_words:
            gold, predicted = zip(*self.val_words)
            f1 = f1_score(list(gold), list(predicted), mode="strict", scheme=IOB2, zero_division=0)
            self.log("val_f1", float(f1), prog_bar=True, sync_dist=True)
        self.val_words = []
