"""What the export stage needs from image-det beyond any image recipe's: its thresholds, samples and parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_cli.recipe_api import Parity
from aiaas_recipes.common.vision.export import pick
from aiaas_recipes.common.vision.transforms import normalize
from aiaas_recipes.image_det.boxes import detections_of

PARITY_THRESHOLD = 0.05  # compare the detections a low request threshold would see, not only the default's
BOX_TOLERANCE = 0.5  # input pixels


def post_processing(model: dict) -> dict:
    """The model's thresholds, which the numpy post-processing of serving reads from the exported metadata."""
    return {
        "score_threshold": float(model.get("score_threshold", 0.3)),
        "nms_iou": float(model.get("nms_iou", 0.5)),
        "max_detections": int(model.get("max_detections", 100)),
    }


def samples(dataset_dir: Path, manifest: dict, split: str, limit: int, seed: int = 0) -> tuple[np.ndarray, list]:
    """A seeded random subset of ``split``, normalised exactly as serving does, and its (boxes, labels)."""
    from aiaas_recipes.image_det.datamodule import load_split

    images, boxes, labels = load_split(dataset_dir, split)
    rows = pick(len(images), limit, seed)
    targets = [(boxes[i], labels[i]) for i in rows]
    return normalize(np.asarray(images[rows]), manifest["mean"], manifest["std"]), targets


def _same(a: tuple, b: tuple) -> bool:
    (boxes_a, scores_a, labels_a), (boxes_b, scores_b, labels_b) = a, b
    if len(labels_a) != len(labels_b) or not np.array_equal(labels_a, labels_b):
        return False
    return bool(np.all(np.abs(boxes_a - boxes_b) <= BOX_TOLERANCE) and np.all(np.abs(scores_a - scores_b) <= 1e-3))


def compare(expected: dict, actual: dict) -> Parity:
    """Largest |score| difference over every cell, and the share of images whose detections after the numpy
    post-processing are the same (same labels in the same order, boxes within half a pixel)."""
    want, got = np.asarray(expected["scores"], np.float64), np.asarray(actual["scores"], np.float64)
    diff = float(np.abs(want - got).max()) if want.size else 0.0
    found_a = detections_of(expected, PARITY_THRESHOLD, 100, 0.5)
    found_b = detections_of(actual, PARITY_THRESHOLD, 100, 0.5)
    agree = float(np.mean([_same(a, b) for a, b in zip(found_a, found_b)])) if found_a else 1.0
    return Parity(max_abs_diff=diff, agreement=agree, samples=len(want), agreement_name="detection_agreement")
