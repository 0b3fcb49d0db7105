"""Training seq2seq: batches of padded source and target ids (trimmed to the batch's longest), and the
LightningModule: teacher-forced cross-entropy (label smoothing, padding ignored), token accuracy on validation."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from aiaas_recipes.common.data.rows import RowDataModule
from aiaas_recipes.common.module import ConfiguredModule
from aiaas_recipes.seq2seq.tokens import BOS_ID, PAD_ID


def make_batch(rows: dict[str, np.ndarray]) -> tuple[torch.Tensor, ...]:
    """(src_ids, src_mask, decoder inputs [BOS]+target, target) as long tensors, cut to the longest row."""
    src, tgt = rows["src"].astype(np.int64), rows["tgt"].astype(np.int64)
    src = src[:, : max(int((src != PAD_ID).sum(1).max(initial=1)), 1)]
    tgt = tgt[:, : max(int((tgt != PAD_ID).sum(1).max(initial=1)), 1)]
    tgt_in = np.concatenate([np.full((len(tgt), 1), BOS_ID), tgt[:, :-1]], axis=1)
    return tuple(torch.from_numpy(a) for a in (src, (src != PAD_ID).astype(np.int64), tgt_in, tgt))


class PairDataModule(RowDataModule):
    arrays = ("src", "tgt")

    def make_batch(self, rows: dict[str, np.ndarray], train: bool) -> Any:
        return make_batch(rows)


class Translator(ConfiguredModule):
    """Wraps a Seq2SeqTransformer: (src_ids, src_mask, tgt_in) -> logits, scored against the target ids."""

    def __init__(self, net: torch.nn.Module, optimizer, scheduler, meta: dict, label_smoothing: float):
        super().__init__(net, optimizer, scheduler, meta)
        self.label_smoothing = label_smoothing

    def _loss(self, batch, smoothing: float) -> tuple[torch.Tensor, torch.Tensor]:
        src, mask, tgt_in, tgt = batch
        logits = self.net(src, mask, tgt_in)
        loss = F.cross_entropy(logits.transpose(1, 2), tgt, ignore_index=PAD_ID, label_smoothing=smoothing)
        return loss, logits

    def training_step(self, batch, batch_idx):
        loss, _ = self._loss(batch, self.label_smoothing)
        self.log_loss("train", loss, len(batch[0]))
        return loss

    def validation_step(self, batch, batch_idx):
        loss, logits = self._loss(batch, 0.0)
        self.log_loss("val", loss, len(batch[0]))
        tgt = batch[3]
        real = tgt != PAD_ID
        accuracy = ((logits.argmax(-1) == tgt) & real).sum() / real.sum().clamp(min=1)
        self.log_score("val_token_acc", accuracy, len(tgt))
