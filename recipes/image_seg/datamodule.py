"""Batches straight from the preprocessed arrays; flips and quarter turns move image and mask together."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.data.rows import RowDataModule, RowDataset, open_split
from aiaas_recipes.common.vision.batches import Standardiser


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's images and masks, memory-mapped."""
    arrays = open_split(dataset_dir, split, ("x", "y"))
    return arrays["x"], arrays["y"]


class MaskBatches:
    """Rows x (B, H, W, 3) uint8 and y (B, H, W) class indices -> normalised images, int64 masks (flipped and
    turned by quarter turns when asked; the images are square, so a turn keeps the batch's shape)."""

    def __init__(self, mean, std, flips: bool = False, turns: bool = False):
        self.standardiser = Standardiser(mean, std)
        self.flips, self.turns = flips, turns

    def __call__(self, rows: dict[str, np.ndarray]):
        x = self.standardiser(rows["x"])
        y = torch.from_numpy(np.asarray(rows["y"], dtype=np.int64))
        if self.flips:  # horizontal and vertical flips: the shapes look the same either way
            for dim, axis in ((-1, -1), (-2, -2)):
                flip = torch.rand(len(x)) < 0.5
                x[flip], y[flip] = x[flip].flip(dim), y[flip].flip(axis)
        if self.turns:  # with the flips, all 8 views of a square: scenes with no up or down look the same in each
            k = torch.randint(0, 4, (len(x),))
            for turn in (1, 2, 3):
                pick = k == turn
                x[pick], y[pick] = x[pick].rot90(turn, (-2, -1)), y[pick].rot90(turn, (-2, -1))
        return x, y


class MaskDataset(RowDataset):
    """(N, H, W, 3) uint8 images and (N, H, W) class-index masks, normalised a batch at a time."""

    def __init__(self, images: np.ndarray, masks: np.ndarray, mean, std, flips: bool = False):
        super().__init__({"x": images, "y": masks}, MaskBatches(mean, std, flips))


class MaskDataModule(RowDataModule):
    arrays = ("x", "y")

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        flips = bool(train and self.cfg.augment.flips)
        return MaskBatches(self.manifest["mean"], self.manifest["std"], flips, bool(train and turns(self.cfg)))(rows)


def turns(data_cfg) -> bool:
    """data.augment.turns; null: on for the built-in shapes (drawn with no up or down), off for a user's folder,
    where up may mean something (sky, road)."""
    chosen = data_cfg.augment.get("turns")
    return data_cfg.get("root") is None if chosen is None else bool(chosen)
