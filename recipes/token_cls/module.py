"""The LightningModule of token-cls: per-sub-token cross-entropy on first sub-tokens, entity F1 on validation."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from aiaas_recipes.common.module import ConfiguredModule
from aiaas_recipes.token_cls.dataset import IGNORE
from aiaas_recipes.token_cls.decode import Decoder, word_tags


class Tagger(ConfiguredModule):
    """Wraps a network that maps (batch, sequence) ids to (batch, sequence, tags) logits."""

    sync_dist = True

    def __init__(self, net: torch.nn.Module, optimizer, scheduler, meta: dict):
        super().__init__(net, optimizer, scheduler, meta)
        self.decoder = Decoder(meta["tags"])
        self.val_words: list[tuple[list[str], list[str]]] = []

    def loss(self, out: torch.Tensor, target: torch.Tensor, train: bool) -> torch.Tensor:
        return F.cross_entropy(out.flatten(0, 1), target.flatten().long(), ignore_index=IGNORE)

    def validation_scores(self, out: torch.Tensor, target: torch.Tensor) -> None:
        self.val_words += word_tags(self.decoder, out.float().cpu().numpy(), target.cpu().numpy())

    def on_validation_epoch_end(self) -> None:
        from seqeval.metrics import f1_score
        from seqeval.scheme import IOB2

        if self.val_words:
            gold, predicted = zip(*self.val_words)
            f1 = f1_score(list(gold), list(predicted), mode="strict", scheme=IOB2, zero_division=0)
            self.log("val_f1", float(f1), prog_bar=True, sync_dist=True)
        self.val_words = []
