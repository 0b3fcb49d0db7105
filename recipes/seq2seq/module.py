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


def make_batch(rows: dict[str, np.ndarray], pad: int = PAD_ID, start: int = BOS_ID) -> tuple[torch.Tensor, ...]:
    """(src_ids, src_mask, decoder inputs [start]+target, target) as long tensors, cut to the longest row; ``pad``
    and ``start`` (the decoder's first input): the tokenizer's (a hub model's differ from ours)."""
    src, tgt = rows["src"].astype(np.int64), rows["tgt"].astype(np.int64)
    src = src[:, : max(int((src != pad).sum(1).max(initial=1)), 1)]
    tgt = tgt[:, : max(int((tgt != pad).sum(1).max(initial=1)), 1)]
    tgt_in = np.concatenate([np.full((len(tgt), 1), start), tgt[:, :-1]], axis=1)
    return tuple(torch.from_numpy(a) for a in (src, (src != pad).astype(np.int64), tgt_in, tgt))


class PairDataModule(RowDataModule):
    arrays = ("src", "tgt")

    def make_batch(self, rows: dict[str, np.ndarray], train: bool) -> Any:
        specials = self.manifest.get("specials", {})
        return make_batch(rows, int(specials.get("pad_id", PAD_ID)), int(specials.get("bos_id", BOS_ID)))


class Translator(ConfiguredModule):
    """Wraps a Seq2SeqTransformer: (src_ids, src_mask, tgt_in) -> logits, scored against the target ids."""

    def __init__(self, net: torch.nn.Module, optimizer, scheduler, meta: dict, label_smoothing: float):
        super().__init__(net, optimizer, scheduler, meta)
        self.label_smoothing = label_smoothing
        self.pad_id = int(meta.get("specials", {}).get("pad_id", PAD_ID))

    def _loss(self, batch, smoothing: float) -> tuple[torch.Tensor, torch.Tensor]:
        src, mask, tgt_in, tgt = batch
        logits = self.net(src, mask, tgt_in)
        loss = F.cross_entropy(logits.transpose(1, 2), tgt, ignore_index=self.pad_id, label_smoothing=smoothing)
        return loss, logits

    def training_step(self, batch, batch_idx):
        loss, _ = self._loss(batch, self.label_smoothing)
        self.log_loss("train", loss, len(batch[0]))
        return loss

    def validation_step(self, batch, batch_idx):
        loss, logits = self._loss(batch, 0.0)
        self.log_loss("val", loss, len(batch[0]))
        tgt = batch[3]
        real = tgt != self.pad_id
        accuracy = ((logits.argmax(-1) == tgt) & real).sum() / real.sum().clamp(min=1)
        self.log_score("val_token_acc", accuracy, len(tgt))
