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
