"""What the export stage needs from an image recipe: a square example batch with a symbolic batch axis, the
metadata serving decodes with, and held-out samples normalised exactly as serving does."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aiaas_cli.recipe_api import ExportSpec
from aiaas_recipes.common.vision.transforms import normalize

INPUT_NAME, OUTPUT_NAME = "image", "logits"
# the pretrained model's preprocessing beyond size and normalisation (its interpolation and eval crop, and the whole
# data config it was read from), when the dataset was built for one: serving decodes with them
RECORDED = ("interpolation", "crop_pct", "data_config")


def export_spec(
    network, meta: dict, output_names: Sequence[str] = (OUTPUT_NAME,), extra: dict | None = None
) -> ExportSpec:
    """A (2, 3, size, size) example batch (serving resizes every upload to that square), and the labels, input size
    and normalisation serving needs, plus ``extra`` (e.g. a detector's thresholds)."""
    import torch

    size, outputs = int(meta["image_size"]), list(output_names)
    return ExportSpec(
        example_inputs=(torch.zeros(2, 3, size, size),),
        input_names=[INPUT_NAME],
        output_names=outputs,
        dynamic_axes={name: {0: "batch"} for name in (INPUT_NAME, *outputs)},
        metadata={
            "labels": list(meta["classes"]),
            "input_size": size,
            "mean": list(meta["mean"]),
            "std": list(meta["std"]),
            **{key: meta[key] for key in RECORDED if key in meta},
            **(extra or {}),
            "model": model_name(meta.get("model", {})),
        },
    )


def model_name(model_cfg: dict) -> str | None:
    """The network's class, or a hub model's kind and name (`timm:resnet18.a1_in1k`)."""
    if model_cfg.get("kind"):
        return f"{model_cfg['kind']}:{model_cfg.get('name')}"
    return model_cfg.get("_target_")


def pick(count: int, limit: int, seed: int = 0) -> np.ndarray:
    """A seeded random subset of ``count`` rows (classes mixed), in row order."""
    return np.sort(np.random.default_rng(seed).permutation(count)[:limit])


def samples(dataset_dir: Path, manifest: dict, split: str, limit: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random subset (classes mixed) of ``split``, normalised exactly as serving does, and its targets
    (labels, or masks)."""
    images = np.load(Path(dataset_dir) / f"{split}_x.npy", mmap_mode="r")
    targets = np.load(Path(dataset_dir) / f"{split}_y.npy", mmap_mode="r")
    rows = pick(len(targets), limit, seed)
    return normalize(np.asarray(images[rows]), manifest["mean"], manifest["std"]), np.asarray(targets[rows])
