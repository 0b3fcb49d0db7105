"""Training text-gen: batches of token rows with their loss labels, and the LightningModule (next-token loss on the
labels that count: every token of a document, the answer of an instruction)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from aiaas_recipes.common.backbones.hf import MergedCheckpoints
from aiaas_recipes.common.data.rows import RowDataModule
from aiaas_recipes.common.module import ConfiguredModule
from aiaas_recipes.text_gen.model import lm_loss


def row_batch(rows: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ids, lengths and labels as int64, cut after the batch's longest row."""
    lengths = np.asarray(rows["len"], dtype=np.int64)
    longest = max(int(lengths.max()), 1) if len(lengths) else 1
    ids = torch.from_numpy(np.asarray(rows["ids"][:, :longest], dtype=np.int64))
    labels = torch.from_numpy(np.asarray(rows["labels"][:, :longest], dtype=np.int64))
    return ids, torch.from_numpy(lengths), labels


class TextDataModule(RowDataModule):
    arrays = ("ids", "len", "labels")

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        return row_batch(rows)


def datamodule(cfg: Any, dataset_dir: Path, manifest: dict) -> TextDataModule:
    return TextDataModule(dataset_dir, manifest, cfg.data, int(cfg.seed))


class LanguageModel(ConfiguredModule):
    """``net`` maps (ids, lengths) to logits through ``logits_of`` (the step graph over a whole row)."""

    sync_dist = True

    def logits(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        from aiaas_recipes.text_gen.model import row_logits

        return row_logits(self.net, ids, lengths)

    def training_step(self, batch, batch_idx):
        ids, lengths, labels = batch
        loss = lm_loss(self.logits(ids, lengths), labels)
        self.log_loss("train", loss, len(ids))
        return loss

    def validation_step(self, batch, batch_idx):
        ids, lengths, labels = batch
        logits = self.logits(ids, lengths)
        self.log_loss("val", lm_loss(logits, labels), len(ids))
        self.log_score("val_score", score(logits, labels, bool(self.meta.get("score_rows"))), len(ids))


def score(logits: torch.Tensor, labels: torch.Tensor, rows: bool) -> torch.Tensor:
    """What picks the best checkpoint. ``rows`` (instructions held out): the share of rows whose every answer token
    and end token is the most likely one given the ones before, which is greedy exact match, read in one pass; else
    (documents only) next-token accuracy. The answer-only loss alone kept falling while held-out answers went wrong."""
    predicted, target = logits[:, :-1].argmax(-1), labels[:, 1:]
    counted = target != -100
    if not rows:
        return (predicted == target)[counted].float().mean()
    right = ((predicted == target) | ~counted).all(1)
    has = counted.any(1)
    return right[has].float().mean() if bool(has.any()) else right.float().mean() * 0


class HubLanguageModel(MergedCheckpoints, LanguageModel):
    """A Transformers causal LM (hub.py's CausalStep around it), LoRA adapters merged into every checkpoint."""
