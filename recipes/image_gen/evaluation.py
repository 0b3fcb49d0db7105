"""Evaluation of a generator: samples per class through the same numpy sampling loop as serving (over the torch
network), scored in the judge's feature space against the split's real images, beside the class-mean baseline."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aiaas_recipes.image_gen import judge as judges
from aiaas_recipes.image_gen import scores
from aiaas_recipes.image_gen.sampling import generate

GRID_COLUMNS = 8


def numpy_network(module: torch.nn.Module):
    """``module`` as a callable on numpy arrays, as the ONNX graph is called in serving."""

    def call(*arrays: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays)).numpy()

    return call


def torch_generate(network: Any, feeds: dict[str, np.ndarray], chunk: int = 256) -> np.ndarray:
    """uint8 images for sampling feeds, the numpy loop over the torch network (the export's reference)."""
    from aiaas_recipes.image_gen.nets import sampler_module

    meta = network.aiaas_meta
    call = numpy_network(sampler_module(network, meta["kind"]).eval())
    parts = [
        generate(meta["kind"], call, {k: v[i : i + chunk] for k, v in feeds.items()}, meta)
        for i in range(0, len(feeds["label"]), chunk)
    ]
    return np.concatenate(parts)


def request_feeds(meta: dict, labels: np.ndarray, seed: int = 1000, steps: int | None = None) -> dict[str, np.ndarray]:
    """Feeds for one image per label, seeds counting up from ``seed``, the model's default steps and guidance."""
    n = len(labels)
    return {
        "label": np.asarray(labels, dtype=np.int64),
        "seed": np.arange(seed, seed + n, dtype=np.int64),
        "steps": np.full(n, steps or meta["sampling"]["steps"], dtype=np.int64),
        "guidance": np.full(n, meta["sampling"]["guidance"], dtype=np.float32),
    }


def requested_labels(meta: dict) -> np.ndarray:
    per_class, classes = int(meta["sampling"]["eval_per_class"]), len(meta["classes"])
    return np.repeat(np.arange(max(classes, 1)), per_class) if classes else np.zeros(per_class * 10, np.int64)


def score(images: np.ndarray, labels: np.ndarray, real: tuple, train_x: np.ndarray, judge) -> dict:
    features, predicted = judges.judge_images(judge, images)
    precision, recall = scores.precision_recall(real[0], features)
    return {
        # an unconditional model has no class to check: NaN, shown as such and never better than a number
        "class_accuracy": float("nan") if predicted is None else float((predicted == labels).mean()),
        "fid": scores.frechet(real[0], features),
        "precision": precision,
        "recall": recall,
        "nearest_train_rms": scores.nearest_rms(images, train_x),
    }


def evaluate_split(network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
    meta = network.aiaas_meta
    real_x, real_y = np.load(dataset_dir / f"{split}_x.npy"), np.load(dataset_dir / f"{split}_y.npy")
    train_x, train_y = np.load(dataset_dir / "train_x.npy"), np.load(dataset_dir / "train_y.npy")
    judge = judges.load_or_train(dataset_dir, manifest) if manifest["classes"] else None
    real = judges.judge_images(judge, real_x)
    labels = requested_labels(meta)
    images = torch_generate(network, request_feeds(meta, labels))
    baseline_images = scores.class_mean_baseline(train_x, train_y, labels)
    report = score(images, labels, real, train_x, judge)
    baseline = {"name": "class mean + noise", **score(baseline_images, labels, real, train_x, judge)}
    report.update(
        samples=len(images),
        real_samples=len(real_x),
        judge_accuracy=None if judge is None else float((real[1] == real_y).mean()),
        real_nearest_train_rms=scores.nearest_rms(real_x, train_x),
        baseline=baseline,
        grids={"samples": grid_png(images, labels), "baseline": grid_png(baseline_images, labels)},
    )
    report["compare"] = compare_table(report, baseline, meta["kind"])
    return report


def compare_table(report: dict, baseline: dict, kind: str) -> dict:
    names = ("class_accuracy", "fid", "precision", "recall", "nearest_train_rms")
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    return {
        "title": "Generated samples vs the class-mean baseline (judge: a CNN aiaas trained on this data)",
        "columns": [kind, baseline["name"]],
        "rows": {name: [fmt(report[name]), fmt(baseline[name])] for name in names},
    }


def grid_png(images: np.ndarray, labels: np.ndarray, scale: int = 4) -> str:
    """A base64 PNG: one row per class, the first GRID_COLUMNS images of each, enlarged ``scale`` times."""
    from PIL import Image

    size, channels = images.shape[1], images.shape[-1]
    rows = np.unique(labels)
    canvas = np.full((len(rows) * (size + 1), GRID_COLUMNS * (size + 1), channels), 255, dtype=np.uint8)
    for r, label in enumerate(rows):
        for c, i in enumerate(np.flatnonzero(labels == label)[:GRID_COLUMNS]):
            canvas[r * (size + 1) : r * (size + 1) + size, c * (size + 1) : c * (size + 1) + size] = images[i]
    picture = Image.fromarray(canvas[..., 0] if channels == 1 else canvas)
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
