"""The shared split reader (recipes/common/data/rows.py): memory-mapped rows, whole batches, the seeded train order."""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import OmegaConf

from aiaas_recipes.common.data.rows import RowDataModule, open_split
from aiaas_recipes.image_cls.datamodule import ImageDataModule

SEED = 5


def write_split(folder, split: str, n: int) -> None:
    rng = np.random.default_rng(len(split))
    np.save(folder / f"{split}_x.npy", rng.integers(0, 256, (n, 6, 6, 3), dtype=np.uint8))
    np.save(folder / f"{split}_y.npy", np.arange(n) % 3)


def image_datamodule(folder, **data) -> ImageDataModule:
    cfg = {"batch_size": 4, "num_workers": 0, "augment": {"hflip": False, "pad_crop": 0}, "storage": "npy", **data}
    return ImageDataModule(folder, {"mean": [0.5] * 3, "std": [0.25] * 3}, OmegaConf.create(cfg), SEED)


def test_a_split_is_opened_memory_mapped(tmp_path):
    write_split(tmp_path, "train", 10)
    arrays = open_split(tmp_path, "train", ("x", "y"))
    assert all(isinstance(array, np.memmap) for array in arrays.values())


def test_train_batches_equal_those_of_the_in_memory_arrays(tmp_path):
    write_split(tmp_path, "train", 10)
    images, labels = np.load(tmp_path / "train_x.npy"), np.load(tmp_path / "train_y.npy")
    loader = image_datamodule(tmp_path).train_dataloader()
    loader.sampler.set_epoch(2)
    batches = list(loader)
    order = torch.randperm(10, generator=torch.Generator().manual_seed(SEED + 2)).numpy()
    x = torch.from_numpy(images[order]).permute(0, 3, 1, 2).float().div(255.0).sub(0.5).div(0.25)
    assert torch.equal(torch.cat([b[0] for b in batches]), x)
    assert torch.equal(torch.cat([b[1] for b in batches]), torch.from_numpy(labels[order]))
    assert [len(b[1]) for b in batches] == [4, 4, 2]


class Pairs(RowDataModule):
    """A recipe of two arrays whose make_batch sums them: what a recipe writes to use the base."""

    arrays = ("a", "b")

    def make_batch(self, rows, train):
        return torch.from_numpy(rows["a"] + rows["b"]), train


def test_a_recipe_supplies_only_its_array_names_and_make_batch(tmp_path):
    np.save(tmp_path / "val_a.npy", np.arange(6))
    np.save(tmp_path / "val_b.npy", np.arange(6) * 10)
    dm = Pairs(tmp_path, {}, OmegaConf.create({"batch_size": 4, "num_workers": 0}), SEED)
    batches = list(dm.val_dataloader())
    assert torch.equal(torch.cat([b[0] for b in batches]), torch.arange(6) * 11)
    assert [b[1] for b in batches] == [False, False]
    assert dm.dataset("val", train=True)[3] == (33, True)
