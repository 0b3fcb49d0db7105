"""Batches of sub-token rows and their tags from the dataset dir (memory-mapped), cut to the longest row in each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.data.rows import RowDataModule, RowDataset
from aiaas_recipes.token_cls.encoding import PAD_ID, UNK_ID


class TokenBatches:
    """Rows ids and tags (B, L) -> int64 tensors cut to the batch's longest row (sentences need ~25 of 64).

    ``unk_rate``: the share of sub-tokens replaced by [UNK] in each training batch, so the model learns to
    find an entity from its context and shape when its pieces are new (the test split's names are)."""

    def __init__(self, unk_rate: float = 0.0, seed: int = 0):
        self.unk_rate = float(unk_rate)
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, rows: dict[str, np.ndarray]):
        ids = torch.from_numpy(np.asarray(rows["ids"], dtype=np.int64))
        tags = torch.from_numpy(np.asarray(rows["tags"], dtype=np.int64))
        longest = max(int((ids != 0).sum(1).max()), 1) if len(ids) else 1
        ids, tags = ids[:, :longest], tags[:, :longest]
        if self.unk_rate > 0:
            hide = (torch.rand(ids.shape, generator=self.generator) < self.unk_rate) & (ids != PAD_ID)
            ids = ids.masked_fill(hide, UNK_ID)
        return ids, tags


def hub_batch(rows: dict[str, np.ndarray]):
    """A hub model's rows: ids, attention mask (from the row lengths) and tags, cut to the batch's longest row.
    No [UNK] hiding: a pretrained model has met names in its pretraining text."""
    lengths = np.asarray(rows["len"], dtype=np.int64)
    longest = max(int(lengths.max()), 1) if len(lengths) else 1
    ids = torch.from_numpy(np.asarray(rows["ids"][:, :longest], dtype=np.int64))
    mask = torch.from_numpy((np.arange(longest)[None, :] < lengths[:, None]).astype(np.int64))
    return ids, mask, torch.from_numpy(np.asarray(rows["tags"][:, :longest], dtype=np.int64))


class RowsDataset(RowDataset):
    """A batch is one indexing op per array."""

    def __init__(self, ids: np.ndarray, tags: np.ndarray, unk_rate: float = 0.0, seed: int = 0):
        super().__init__({"ids": ids, "tags": tags}, TokenBatches(unk_rate, seed))


class TokenDataModule(RowDataModule):
    arrays = ("ids", "tags")

    def __init__(self, dataset_dir: Path, data_cfg, seed: int, hub: bool = False):
        super().__init__(dataset_dir, {}, data_cfg, seed)
        self.batches = {False: TokenBatches(), True: TokenBatches(float(data_cfg.augment.unk_rate), seed)}
        if hub:  # the rows' lengths give the attention mask (a hub model's pad id need not be 0)
            self.arrays = ("ids", "len", "tags")
            self.batches = {False: hub_batch, True: hub_batch}

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        return self.batches[train](rows)
