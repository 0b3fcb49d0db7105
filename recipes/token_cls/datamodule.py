"""Batches of sub-token rows and their tags from the dataset dir, cut to the longest row in each batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from aiaas_recipes.image_cls.datamodule import EpochSampler, keep_batch
from aiaas_recipes.token_cls.dataset import load_split
from aiaas_recipes.token_cls.encoding import PAD_ID, UNK_ID


class RowsDataset(Dataset):
    """A batch is one indexing op; columns past its longest row are cut (sentences need ~25 of 64).

    ``unk_rate``: the share of sub-tokens replaced by [UNK] in each training batch, so the model learns to
    find an entity from its context and shape when its pieces are new (the test split's names are)."""

    def __init__(self, ids: np.ndarray, tags: np.ndarray, unk_rate: float = 0.0, seed: int = 0):
        self.ids = torch.from_numpy(ids.astype(np.int64))
        self.tags = torch.from_numpy(tags.astype(np.int64))
        self.lengths = (self.ids != 0).sum(1)
        self.unk_rate = float(unk_rate)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitems__(self, indices: list[int]):
        idx = torch.as_tensor(indices)
        longest = max(int(self.lengths[idx].max()), 1)
        ids = self.ids[idx, :longest]
        if self.unk_rate > 0:
            hide = (torch.rand(ids.shape, generator=self.generator) < self.unk_rate) & (ids != PAD_ID)
            ids = ids.masked_fill(hide, UNK_ID)
        return ids, self.tags[idx, :longest]

    def __getitem__(self, index: int):
        ids, tags = self.__getitems__([index])
        return ids[0], tags[0]


class TokenDataModule(pl.LightningDataModule):
    def __init__(self, dataset_dir: Path, data_cfg, seed: int):
        super().__init__()
        self.dataset_dir, self.cfg, self.seed = Path(dataset_dir), data_cfg, seed

    def dataset(self, split: str) -> RowsDataset:
        arrays = load_split(self.dataset_dir, split)
        unk_rate = float(self.cfg.augment.unk_rate) if split == "train" else 0.0
        return RowsDataset(arrays["ids"], arrays["tags"], unk_rate, self.seed)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        data = self.dataset(split)
        return DataLoader(
            data,
            batch_size=int(self.cfg.batch_size),
            sampler=EpochSampler(len(data), self.seed) if shuffle else None,
            collate_fn=keep_batch,
            num_workers=0,  # batches are one indexing op: worker processes would cost more than they save
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)
