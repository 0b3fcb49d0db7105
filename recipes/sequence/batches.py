"""The data module both sequence recipes train with: datasets that hand out whole batches, shuffled by epoch."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from torch.utils.data import DataLoader, Dataset

from aiaas_recipes.common.data.rows import EpochSampler, keep_batch


class SplitData(pl.LightningDataModule):
    """Train and val loaders over ``dataset(split)``, a Dataset whose ``__getitems__`` builds a batch at once (one
    indexing op: worker processes would cost more than they save)."""

    def __init__(self, dataset_dir: Path, batch_size: int, seed: int):
        super().__init__()
        self.dataset_dir, self.batch_size, self.seed = Path(dataset_dir), int(batch_size), int(seed)

    def dataset(self, split: str) -> Dataset:
        raise NotImplementedError

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        data = self.dataset(split)
        sampler = EpochSampler(len(data), self.seed) if shuffle else None
        return DataLoader(data, batch_size=self.batch_size, sampler=sampler, collate_fn=keep_batch, num_workers=0)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)
