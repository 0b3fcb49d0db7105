"""What the export stage needs from text-cls: example ids, names, dynamic axes, metadata and held-out samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_cli.recipe_api import ExportSpec
from aiaas_recipes.common.text.export import ids_export_spec


def export_spec(network, meta: dict) -> ExportSpec:
    """A (2, max_length) example with symbolic batch and sequence axes; the tokenizer rides in the metadata."""
    return ids_export_spec(meta, {0: "batch"}, {"labels": list(meta["classes"])})


def samples(dataset_dir: Path, split: str, limit: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random subset of ``split``: int64 ids padded to max_length, as the serving adapter makes them."""
    ids = np.load(Path(dataset_dir) / f"{split}_ids.npy", mmap_mode="r")
    labels = np.load(Path(dataset_dir) / f"{split}_y.npy")
    pick = np.sort(np.random.default_rng(seed).permutation(len(labels))[:limit])
    return np.asarray(ids[pick], dtype=np.int64), labels[pick]
