"""The image-cls batches: the order a plain loop can reproduce, and no draws from the global RNG."""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import OmegaConf

from aiaas_recipes.image_cls.datamodule import ImageDataModule

SEED = 7


def datamodule(tmp_path, n: int = 10) -> ImageDataModule:
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        np.save(tmp_path / f"{split}_x.npy", rng.integers(0, 256, (n, 4, 4, 3), dtype=np.uint8))
        np.save(tmp_path / f"{split}_y.npy", np.arange(n) % 2)
    manifest = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    cfg = OmegaConf.create({"batch_size": 4, "num_workers": 0, "augment": {"hflip": False, "pad_crop": 0}})
    return ImageDataModule(tmp_path, manifest, cfg, SEED)


def test_train_order_is_a_permutation_seeded_by_seed_plus_epoch(tmp_path):
    loader = datamodule(tmp_path).train_dataloader()
    loader.sampler.set_epoch(3)
    labels = torch.cat([y for _, y in loader])
    order = torch.randperm(10, generator=torch.Generator().manual_seed(SEED + 3))
    assert torch.equal(labels, order % 2)


def test_new_loader_iterators_leave_the_global_rng_alone(tmp_path):
    # Otherwise whether Lightning's sanity validation ran would change training's dropout masks.
    dm = datamodule(tmp_path)
    torch.manual_seed(0)
    next(iter(dm.val_dataloader()))
    next(iter(dm.train_dataloader()))
    after_loaders = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after_loaders, torch.rand(3))


def test_splits_are_memory_mapped_and_batches_equal_the_in_memory_ones(tmp_path):
    """Issue 17: a dataset larger than RAM must train, so a split is never loaded whole."""
    from aiaas_recipes.image_cls.datamodule import ArrayDataset, load_split

    rng = np.random.default_rng(0)
    np.save(tmp_path / "train_x.npy", rng.integers(0, 256, (20, 6, 6, 3), dtype=np.uint8))
    np.save(tmp_path / "train_y.npy", rng.integers(0, 3, 20))
    images, labels = load_split(tmp_path, "train")
    assert isinstance(images, np.memmap)
    mapped = ArrayDataset(images, labels, [0.5] * 3, [0.25] * 3)
    loaded = ArrayDataset(np.load(tmp_path / "train_x.npy"), labels, [0.5] * 3, [0.25] * 3)
    order = [7, 3, 19, 0, 3]
    (x1, y1), (x2, y2) = mapped.__getitems__(order), loaded.__getitems__(order)
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and x1.shape == (5, 3, 6, 6)
