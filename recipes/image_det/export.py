"""What the export stage needs from image-det beyond any image recipe's: its thresholds, samples and parity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.recipe_api import Parity
from aiaas_recipes.common.vision.export import pick
from aiaas_recipes.common.vision.transforms import normalize
from aiaas_recipes.image_det.boxes import PRE_NMS, detections_of, iou

PARITY_THRESHOLD = 0.3  # the serving threshold when export.score_threshold is null (conf/image-det.yaml sets it)
NMS_IOU = 0.5


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


def _differences(want: tuple, got: tuple, threshold: float, export_cfg: Any) -> list[tuple[float, str]]:
    """What the user would see change in one image, worst first as (how bad, what). Both sides are decoded down to
    threshold - score_tolerance, so that a box just above the threshold on one side finds its twin just below it on
    the other; a box above the threshold must have its twin (same label, IoU >= box_iou) with a score within
    score_tolerance. Boxes below the threshold on both sides are never shown, so never judged."""
    tolerance, need = float(export_cfg.score_tolerance), float(export_cfg.box_iou)
    (boxes_a, scores_a, labels_a), (boxes_b, scores_b, labels_b) = want, got
    free, found = np.ones(len(labels_b), bool), []
    for box, score, label in zip(boxes_a, scores_a, labels_a):
        overlap = np.where(free & (labels_b == label), _overlap(box, boxes_b), -1.0)
        j = int(overlap.argmax()) if len(overlap) else -1
        if j >= 0 and overlap[j] >= need:
            free[j] = False
            gap = abs(float(scores_b[j]) - float(score))
            if gap > tolerance and max(score, scores_b[j]) > threshold:
                found.append((gap / tolerance, f"class {label} at {_box(box)} scores {score:.3f} -> "
                              f"{scores_b[j]:.3f} (export.score_tolerance={tolerance})"))  # fmt: skip
        elif score > threshold:
            best = f"best IoU {overlap[j]:.3f}" if j >= 0 and overlap[j] >= 0 else "no box of its class"
            found.append((1 + score, f"class {label} at {_box(box)} ({score:.3f}) is missing: {best} "
                          f"(export.box_iou={need})"))  # fmt: skip
    for box, score, label in zip(boxes_b[free], scores_b[free], labels_b[free]):
        if score > threshold:
            found.append((1 + score, f"class {label} at {_box(box)} ({score:.3f}) is new"))
    return sorted(found, key=lambda item: -item[0])


def _overlap(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU, where a degenerate box (zero area, an untrained head's) matches its own copy."""
    if not len(boxes):
        return np.zeros(0)
    return np.where(np.abs(boxes - box).max(axis=1) <= 1e-3, 1.0, iou(box, boxes))


def _box(box: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.1f}" for v in box) + "]"


def compare(expected: dict, actual: dict, export_cfg: Any) -> Parity:
    """The share of images whose detections above the serving threshold (export.score_threshold) are the same
    after the numpy post-processing the service runs: same labels, boxes overlapping by export.box_iou, scores
    within export.score_tolerance. The largest raw score difference is reported."""
    from aiaas_recipes.common.parity import max_abs

    threshold = float(export_cfg.score_threshold if export_cfg.score_threshold is not None else PARITY_THRESHOLD)
    # every box the post-processing can return, so that none is compared away by a cap
    low = max(0.0, threshold - float(export_cfg.score_tolerance))
    found_a = detections_of(expected, low, PRE_NMS, NMS_IOU)
    found_b = detections_of(actual, low, PRE_NMS, NMS_IOU)
    problems = [_differences(a, b, threshold, export_cfg) for a, b in zip(found_a, found_b, strict=True)]
    worst = ""
    if any(problems):
        i = max(range(len(problems)), key=lambda n: problems[n][0][0] if problems[n] else 0.0)
        worst = f"image {i}: {problems[i][0][1]}" + (f" (+{len(problems[i]) - 1} more)" if len(problems[i]) > 1 else "")
    agree = float(np.mean([not p for p in problems])) if problems else 1.0
    raw = max_abs(expected["scores"], actual["scores"])
    return Parity(raw, agree, len(problems), "detection_agreement", worst)
