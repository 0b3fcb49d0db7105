"""What the export stage needs from text-cls: example ids, names, dynamic axes, metadata and held-out samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_cli.recipe_api import ExportSpec
from aiaas_recipes.text_cls.dataset import TOKENIZER_FILE

INPUT_NAME, OUTPUT_NAME = "input_ids", "logits"


def export_spec(network, meta: dict) -> ExportSpec:
    """A (2, max_length) example with symbolic batch and sequence axes; the tokenizer rides in the metadata."""
    import torch

    max_length = int(meta["max_length"])
    example = torch.ones(2, max_length, dtype=torch.long)
    example[1, max_length // 2 :] = 0  # a padded row, so the export traces the masking path with real data
    return ExportSpec(
        example_inputs=(example,),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch", 1: "sequence"}, OUTPUT_NAME: {0: "batch"}},
        metadata={
            "labels": list(meta["classes"]),
            "max_length": max_length,
            "tokenizer": meta["tokenizer"],  # the JSON string: a served model needs only model.onnx
            "model": meta.get("model", {}).get("_target_"),
        },
    )


def samples(dataset_dir: Path, split: str, limit: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random subset of ``split``: int64 ids padded to max_length, as the serving adapter makes them."""
    ids = np.load(Path(dataset_dir) / f"{split}_ids.npy", mmap_mode="r")
    labels = np.load(Path(dataset_dir) / f"{split}_y.npy")
    pick = np.sort(np.random.default_rng(seed).permutation(len(labels))[:limit])
    return np.asarray(ids[pick], dtype=np.int64), labels[pick]


def read_tokenizer(dataset_dir: Path) -> str:
    return (Path(dataset_dir) / TOKENIZER_FILE).read_text(encoding="utf-8")
