"""Batches of padded token ids from the dataset dir (memory-mapped), trimmed to the longest text in each batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, WeightedRandomSampler

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.data.rows import RowDataModule, RowDataset, open_split
from aiaas_recipes.common.text import hub_tokens

BALANCE = ("none", "class_weights", "sampler")


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (N, max_length) and labels of ``split``, memory-mapped."""
    arrays = open_split(dataset_dir, split, ("ids", "y"))
    return arrays["ids"], arrays["y"]


def id_batch(rows: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """int64 ids with the columns past the batch's longest text cut (short posts need ~30 of 64+), and labels."""
    ids = torch.from_numpy(np.asarray(rows["ids"], dtype=np.int64))
    longest = max(int((ids != 0).sum(1).max()), 1) if len(ids) else 1
    return ids[:, :longest], torch.from_numpy(np.asarray(rows["y"], dtype=np.int64))


def hub_batch(rows: dict[str, np.ndarray]) -> tuple[torch.Tensor, ...]:
    """A hub model's batch: ids, attention mask (and token types), cut past the batch's longest text, and labels."""
    lengths = np.asarray(rows["len"], dtype=np.int64)
    longest = max(int(lengths.max()), 1) if len(lengths) else 1
    inputs = [np.asarray(rows["ids"][:, :longest], dtype=np.int64), hub_tokens.mask(lengths, longest)]
    if "types" in rows:
        inputs.append(np.asarray(rows["types"][:, :longest], dtype=np.int64))
    return (*(torch.from_numpy(x) for x in inputs), torch.from_numpy(np.asarray(rows["y"], dtype=np.int64)))


def split_arrays(dataset_dir: Path, manifest: dict) -> tuple[str, ...]:
    """The arrays a batch is made of: ids and labels, and for a hub model the lengths (its attention mask) and the
    token types when the dataset has them."""
    if not manifest.get("hub"):
        return ("ids", "y")
    types = ("types",) if (Path(dataset_dir) / "train_types.npy").exists() else ()
    return ("ids", "len", *types, "y")


def split_dataset(dataset_dir: Path, manifest: dict, split: str) -> RowDataset:
    """``split`` as batches of the model's inputs and the labels (last)."""
    names = split_arrays(dataset_dir, manifest)
    if names == ("ids", "y"):
        return IdsDataset(*load_split(dataset_dir, split))
    data = RowDataset(open_split(dataset_dir, split, names), hub_batch)
    data.labels = torch.from_numpy(np.array(data.arrays["y"], dtype=np.int64))
    return data


class IdsDataset(RowDataset):
    """A batch is one indexing op per array."""

    def __init__(self, ids: np.ndarray, labels: np.ndarray):
        super().__init__({"ids": ids, "y": labels}, id_batch)
        self.labels = torch.from_numpy(np.array(labels, dtype=np.int64))  # a copy: the split may be memory-mapped


def class_weights(counts: dict[str, int]) -> list[float]:
    """Inverse-frequency weights, mean 1 over the classes ("balanced" in scikit-learn's sense)."""
    values = np.maximum(np.asarray(list(counts.values()), dtype=np.float64), 1.0)
    return (values.sum() / (len(values) * values)).round(6).tolist()


def check_balance(mode: str) -> None:
    if mode not in BALANCE:
        raise ConfigError(f"data.balance={mode} is not one of {', '.join(BALANCE)}")


class TextDataModule(RowDataModule):
    arrays = ("ids", "y")

    def __init__(self, dataset_dir: Path, manifest: dict, data_cfg, seed: int):
        check_balance(data_cfg.balance)
        super().__init__(dataset_dir, manifest, data_cfg, seed)
        self.arrays = split_arrays(dataset_dir, manifest)
        if self.storage == "litdata" and data_cfg.balance == "sampler":
            raise ConfigError("data.balance=sampler draws rows by class, which streamed shards cannot",
                              "use data.balance=class_weights with data.storage=litdata")  # fmt: skip

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        return hub_batch(rows) if "len" in rows else id_batch(rows)

    def sampler(self, data: Dataset):
        if self.cfg.balance != "sampler":
            return super().sampler(data)
        # each class drawn equally often: weight 1/count per sample
        labels = torch.from_numpy(np.asarray(data.arrays["y"], dtype=np.int64))
        weights = torch.as_tensor(class_weights(self.manifest["counts"]["train"]), dtype=torch.double)[labels]
        return WeightedRandomSampler(weights, len(data), generator=torch.Generator().manual_seed(self.seed))
