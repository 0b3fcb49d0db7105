"""What the export stage needs from the tabular recipes: the spec, held-out feeds, the trained model's own
outputs, and how closely ONNX Runtime matches them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.recipe_api import ExportSpec, Parity
from aiaas_recipes.tabular.dataset import load_split
from aiaas_recipes.tabular.encode import CATEGORICAL, NUMERIC, Encoder
from aiaas_recipes.tabular.estimator import TableEstimator

CHUNK = 4096


def feeds_of(numeric: np.ndarray, categorical: np.ndarray) -> dict[str, np.ndarray]:
    """The model's inputs that exist (a table without categorical columns has no "categorical" input)."""
    feeds = {NUMERIC: numeric.astype(np.float32), CATEGORICAL: categorical.astype(np.int64)}
    return {name: array for name, array in feeds.items() if array.shape[1]}


def samples(dataset_dir: Path, split: str, limit: int, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A seeded random subset of ``split`` as model feeds, and its targets."""
    numeric, categorical, y = load_split(dataset_dir, split)
    pick = np.sort(np.random.default_rng(seed).permutation(len(y))[:limit])
    return feeds_of(numeric[pick], categorical[pick]), y[pick]


def output_names(regression: bool) -> list[str]:
    return ["value"] if regression else ["logits", "probabilities"]


def reference_outputs(network: Any, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The trained model's outputs for ``feeds``, under the ONNX output names."""
    if isinstance(network, TableEstimator):
        return network.outputs(feeds)
    import torch

    names, chunks = output_names(network.net.regression), []
    rows = len(next(iter(feeds.values())))
    with torch.inference_mode():
        for start in range(0, rows, CHUNK):
            inputs = [torch.from_numpy(feeds[name][start : start + CHUNK]) for name in feeds]
            out = network(*inputs)
            chunks.append([t.numpy() for t in (out if isinstance(out, tuple) else (out,))])
    return {name: np.concatenate([chunk[i] for chunk in chunks]) for i, name in enumerate(names)}


def export_spec(network: Any, meta: dict) -> ExportSpec:
    """Two example rows (NaN in one, so the imputation path is traced with real data) and the schema."""
    import torch

    inputs = Encoder(meta["schema"]).input_names
    numeric = np.zeros((2, meta["inputs"][NUMERIC]), dtype=np.float32)
    numeric[1, :] = np.nan
    example = feeds_of(numeric, np.ones((2, meta["inputs"][CATEGORICAL]), dtype=np.int64))
    boosted = isinstance(network, TableEstimator)
    outputs = network.output_names() if boosted else output_names(meta["task"] == "regression")
    return ExportSpec(
        example_inputs=tuple(torch.from_numpy(example[name]) for name in inputs),
        input_names=inputs,
        output_names=outputs,
        dynamic_axes={name: {0: "batch"} for name in inputs + outputs},
        metadata=serving_metadata(meta),
        convert=network.convert if boosted else None,
    )


def serving_metadata(meta: dict) -> dict[str, Any]:
    """What the torch-free adapter needs: the task, the schema (vocabularies, formats), classes, inputs."""
    payload = {
        "task": meta["task"],
        "target": meta["target"],
        "schema": meta["schema"],
        "inputs": Encoder(meta["schema"]).input_names,
        "model": meta["model"].get("_target_"),
    }
    if meta["task"] == "classification":
        payload["labels"] = list(meta["classes"])
    return payload


def compare(expected: dict, actual: dict, export_cfg: Any, regression: bool) -> Parity:
    """Regression: the share of rows within export.tolerance relative to max(1, |value|) (a large target carries
    float32 rounding of its own size). Classification: the same top-1 class, probabilities within
    export.score_tolerance."""
    from aiaas_recipes.common.parity import top1, within

    if regression:
        want, got = np.asarray(expected["value"]).reshape(-1), np.asarray(actual["value"]).reshape(-1)
        return within(want, got, float(export_cfg.tolerance))
    return top1(expected["probabilities"], actual["probabilities"], float(export_cfg.score_tolerance), logits=False)
