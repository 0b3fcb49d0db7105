"""What the export stage needs from image-cls (and image-seg, whose network takes the same square images): the
example input, names, metadata and held-out samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_cli.recipe_api import ExportSpec
from aiaas_recipes.image_cls.transforms import normalize

INPUT_NAME, OUTPUT_NAME = "image", "logits"


def export_spec(network, meta: dict) -> ExportSpec:
    """A (2, 3, size, size) example batch with a symbolic batch axis, and what serving needs to decode."""
    import torch

    size = int(meta["image_size"])
    return ExportSpec(
        example_inputs=(torch.zeros(2, 3, size, size),),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        metadata={
            "labels": list(meta["classes"]),
            "input_size": size,
            "mean": list(meta["mean"]),
            "std": list(meta["std"]),
            "model": meta.get("model", {}).get("_target_"),
        },
    )


def samples(dataset_dir: Path, manifest: dict, split: str, limit: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random subset (classes mixed) of ``split``, normalised exactly as serving does, and its targets
    (labels, or masks)."""
    images = np.load(Path(dataset_dir) / f"{split}_x.npy", mmap_mode="r")
    targets = np.load(Path(dataset_dir) / f"{split}_y.npy", mmap_mode="r")
    pick = np.sort(np.random.default_rng(seed).permutation(len(targets))[:limit])
    return normalize(np.asarray(images[pick]), manifest["mean"], manifest["std"]), np.asarray(targets[pick])
