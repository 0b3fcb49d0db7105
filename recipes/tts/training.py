"""Training parts: padded batches of (phonemes, mels, durations) and the LightningModule (mel L1 + duration loss)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from aiaas_recipes.common.module import ConfiguredModule
from aiaas_recipes.tts.dataset import load_split


def pad(arrays: list[np.ndarray]) -> torch.Tensor:
    """Arrays of different lengths stacked along a new first axis, zero-padded at the end."""
    out = np.zeros((len(arrays), max(len(a) for a in arrays), *arrays[0].shape[1:]), arrays[0].dtype)
    for i, array in enumerate(arrays):
        out[i, : len(array)] = array
    return torch.from_numpy(out)


def collate(rows: list[dict]) -> tuple[torch.Tensor, ...]:
    """(phonemes, lengths, mels, mel lengths, durations), padded."""
    lengths = torch.tensor([len(r["ids"]) for r in rows])
    frames = torch.tensor([len(r["mel"]) for r in rows])
    return (
        pad([r["ids"] for r in rows]),
        lengths,
        pad([r["mel"] for r in rows]),
        frames,
        pad([r["durations"] for r in rows]),
    )


class SpeechDataModule(pl.LightningDataModule):
    def __init__(self, dataset_dir: Path, data_cfg, seed: int):
        super().__init__()
        self.dataset_dir, self.cfg, self.seed = Path(dataset_dir), data_cfg, seed

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            load_split(self.dataset_dir, split),
            batch_size=int(self.cfg.batch_size),
            shuffle=shuffle,
            collate_fn=collate,
            num_workers=int(self.cfg.num_workers),
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)


def losses(net: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(mel L1 over real frames, MSE of log(1 + duration) per phoneme plus that of each utterance's length)."""
    phonemes, lengths, mels, frames, durations = batch
    predicted, log_durations = net.teacher(phonemes, lengths, durations)
    mel_mask = (torch.arange(mels.shape[1]).view(1, -1) < frames.view(-1, 1)).unsqueeze(-1).to(mels.dtype)
    mel_loss = (torch.abs(predicted[:, : mels.shape[1]] - mels) * mel_mask).sum() / (mel_mask.sum() * mels.shape[2])
    ph_mask = (torch.arange(phonemes.shape[1]).view(1, -1) < lengths.view(-1, 1)).to(mels.dtype)
    target = torch.log1p(durations.to(mels.dtype))
    duration_loss = (F.mse_loss(log_durations, target, reduction="none") * ph_mask).sum() / ph_mask.sum()
    # a log-domain fit alone predicts geometric means, so whole utterances come out short: fit their length too
    total = (torch.expm1(log_durations).clamp(min=0) * ph_mask).sum(1)
    length_loss = F.mse_loss(torch.log1p(total), torch.log1p(frames.to(mels.dtype)))
    return mel_loss, duration_loss + length_loss


class SpeechModule(ConfiguredModule):
    """Trains a FastSpeech network on aligned durations (teacher forcing of the length regulator)."""

    def _step(self, batch, stage: str) -> torch.Tensor:
        mel_loss, duration_loss = losses(self.net, batch)
        loss = mel_loss + duration_loss
        size = len(batch[0])
        self.log_loss(stage, loss, size)
        self.log(f"{stage}_mel_l1", mel_loss, batch_size=size, on_epoch=True, on_step=False)
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")
