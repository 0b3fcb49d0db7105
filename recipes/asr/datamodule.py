"""Batches of utterances: log-mels padded to the batch's longest, lengths, and concatenated character ids.
Batches are drawn from length-sorted runs, so little of each batch is padding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from aiaas_recipes.asr import text as chars
from aiaas_recipes.asr.dataset import load_split
from aiaas_recipes.asr.frontend import pad


class Utterances(Dataset):
    def __init__(self, dataset_dir: Path, split: str, alphabet: list[str]):
        self.mels, texts = load_split(dataset_dir, split)
        self.ids = [chars.encode(t, alphabet) for t in texts]

    def __len__(self) -> int:
        return len(self.mels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, list[int]]:
        return self.mels[i], self.ids[i]


def collate(rows: list[tuple[np.ndarray, list[int]]]) -> tuple[torch.Tensor, ...]:
    features, lengths = pad([mel for mel, _ in rows])
    targets = torch.tensor([i for _, ids in rows for i in ids], dtype=torch.long)
    target_lengths = torch.tensor([len(ids) for _, ids in rows], dtype=torch.long)
    return torch.from_numpy(features), torch.from_numpy(lengths), targets, target_lengths


class LengthBatches(Sampler):
    """Batches of similar length in a new random order each epoch (seeded); shuffled within length bands."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, shuffle: bool):
        self.lengths, self.batch_size, self.seed, self.shuffle, self.epoch = lengths, batch_size, seed, shuffle, 0

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self):
        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1
        jitter = rng.uniform(0, 30, len(self.lengths)) if self.shuffle else np.zeros(len(self.lengths))
        order = np.argsort(np.asarray(self.lengths) + jitter, kind="stable")
        batches = [order[i : i + self.batch_size].tolist() for i in range(0, len(order), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return iter(batches)


class SpeechDataModule(pl.LightningDataModule):
    def __init__(self, dataset_dir: Path, data_cfg, alphabet: list[str], seed: int):
        super().__init__()
        self.dataset_dir, self.cfg, self.alphabet, self.seed = Path(dataset_dir), data_cfg, alphabet, seed

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        data = Utterances(self.dataset_dir, split, self.alphabet)
        sampler = LengthBatches([m.shape[1] for m in data.mels], int(self.cfg.batch_size), self.seed, shuffle)
        return DataLoader(data, batch_sampler=sampler, collate_fn=collate, num_workers=int(self.cfg.num_workers))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
