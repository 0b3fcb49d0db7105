"""Split names, and stratified, seeded train/val/test splits shared by the classification recipes."""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test")
# folder names (or a split column's values) that name a split, lower-cased
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


def split_by_class(labels: np.ndarray, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
    """A stratified, seeded split: each class keeps at least one training item."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {name: [] for name in SPLITS}
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_test = min(int(round(len(idx) * test)), max(len(idx) - 1, 0))
        n_val = min(int(round(len(idx) * val)), max(len(idx) - 1 - n_test, 0))
        parts["test"] += idx[:n_test].tolist()
        parts["val"] += idx[n_test : n_test + n_val].tolist()
        parts["train"] += idx[n_test + n_val :].tolist()
    return {name: np.sort(np.asarray(idx, dtype=np.int64)) for name, idx in parts.items()}
