"""The LightningModule of asr: CTC loss with SpecAugment-style masking in training; WER and CER on validation."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from aiaas_recipes.asr import text as chars
from aiaas_recipes.common.module import ConfiguredModule


def spec_augment(features: torch.Tensor, freq: int, time: int, masks: int) -> torch.Tensor:
    """Zero (the standardised mean) random bands of mel bins and of frames, ``masks`` of each per utterance."""
    n, mels, frames = features.shape
    out = features.clone()
    for row in range(n):
        for _ in range(masks):
            if freq > 0:
                width = int(torch.randint(0, freq + 1, ()))
                start = int(torch.randint(0, max(mels - width, 1), ()))
                out[row, start : start + width, :] = 0
            if time > 0:
                width = int(torch.randint(0, time + 1, ()))
                start = int(torch.randint(0, max(frames - width, 1), ()))
                out[row, :, start : start + width] = 0
    return out


class Transcriber(ConfiguredModule):
    """Wraps a network that maps (features, lengths) to per-frame character log-probabilities."""

    def __init__(self, net: torch.nn.Module, optimizer, scheduler, meta: dict, augment: dict):
        super().__init__(net, optimizer, scheduler, meta)
        self.augment = augment
        self.val_pairs: list[tuple[str, str]] = []

    def _loss(self, log_probs, lengths, targets, target_lengths) -> torch.Tensor:
        out_lengths = chars.output_frames(lengths)
        return F.ctc_loss(log_probs.transpose(0, 1), targets, out_lengths, target_lengths, zero_infinity=True)

    def training_step(self, batch, batch_idx):
        features, lengths, targets, target_lengths = batch
        log_probs = self.net(spec_augment(features, **self.augment), lengths)
        loss = self._loss(log_probs, lengths, targets, target_lengths)
        self.log_loss("train", loss, len(lengths))
        return loss

    def validation_step(self, batch, batch_idx):
        features, lengths, targets, target_lengths = batch
        log_probs = self.net(features, lengths)
        loss = self._loss(log_probs, lengths, targets, target_lengths)
        self.log_loss("val", loss, len(lengths))
        alphabet, frames = self.meta["alphabet"], chars.output_frames(lengths.cpu().numpy())
        truth = torch.split(targets.cpu(), target_lengths.cpu().tolist())
        for row, n, ids in zip(log_probs.float().cpu().numpy(), frames, truth):
            self.val_pairs.append(
                ("".join(alphabet[i - 1] for i in ids.tolist()), chars.greedy_decode(row, n, alphabet))
            )

    def on_validation_epoch_end(self) -> None:
        import jiwer

        if self.val_pairs:
            truth, guess = zip(*self.val_pairs)
            self.log("val_wer", float(jiwer.wer(list(truth), list(guess))), prog_bar=True)
            self.log("val_cer", float(jiwer.cer(list(truth), list(guess))), prog_bar=True)
        self.val_pairs = []
