"""Evaluate a trained detector on a split: COCO mAP (torchmetrics), precision/recall, the trivial baseline, and
the examples the picture grid draws."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.report import add_baseline
from aiaas_recipes.image_det.datamodule import BoxDataset, load_split
from aiaas_recipes.image_det.metrics import as_preds, as_targets, scores

EXAMPLES = 8  # test images drawn in the picture grid
HEADLINE = ("map", "map50", "precision", "recall")


@torch.inference_mode()
def predict_outputs(network: torch.nn.Module, images: np.ndarray, manifest: dict, batch_size: int = 64) -> dict:
    """The network's outputs ({"scores", "boxes"} numpy) for uint8 images, batch by batch."""
    empty = [np.zeros((0, 4), np.float32)] * len(images)
    data = BoxDataset(images, empty, [np.zeros(0)] * len(images), manifest["mean"], manifest["std"])
    parts = []
    for start in range(0, len(data), batch_size):
        x, _, _ = data.__getitems__(list(range(start, min(start + batch_size, len(data)))))
        parts.append([t.numpy() for t in network(x)])
    return {name: np.concatenate([p[i] for p in parts]) for i, name in enumerate(("scores", "boxes"))}


def mean_box_baseline(dataset_dir: Path, n_images: int) -> list[dict]:
    """One box per image: the training boxes' mean box, labelled with the most frequent class (score 1)."""
    _, boxes, labels = load_split(dataset_dir, "train")
    all_boxes, all_labels = np.concatenate(boxes), np.concatenate(labels)
    box = torch.as_tensor(all_boxes.mean(0) if len(all_boxes) else np.zeros(4), dtype=torch.float32)[None]
    label = int(np.bincount(all_labels).argmax()) if len(all_labels) else 0
    one = {"boxes": box, "scores": torch.ones(1), "labels": torch.tensor([label])}
    return [dict(one) for _ in range(n_images)]


def evaluate_split(network: torch.nn.Module, dataset_dir: Path, manifest: dict, split: str) -> dict:
    images, boxes, labels = load_split(dataset_dir, split)
    classes, threshold = manifest["classes"], float(getattr(network, "score_threshold", 0.3))
    outputs = predict_outputs(network.eval(), images, manifest)
    preds, targets = as_preds(outputs, float(getattr(network, "nms_iou", 0.5))), as_targets(boxes, labels)
    report = scores(preds, targets, classes, threshold)
    baseline = scores(mean_box_baseline(dataset_dir, len(images)), targets, classes, threshold)
    report["classes"] = list(classes)
    title = f"Model vs trivial baseline ({split} split, {len(images)} images)"
    add_baseline(report, baseline, "mean training box, most frequent class", title, HEADLINE)
    pick = list(range(min(EXAMPLES, len(images))))
    report["examples"] = {
        "dataset_dir": str(dataset_dir),
        "split": split,
        "index": pick,
        "predicted": [_kept(preds[i], threshold) for i in pick],
    }
    return report


def _kept(pred: dict, threshold: float) -> list[dict]:
    keep = pred["scores"] >= threshold
    return [{"label": int(lab), "score": round(float(s), 4), "box": [round(float(v), 2) for v in b]}
            for b, s, lab in zip(pred["boxes"][keep], pred["scores"][keep], pred["labels"][keep])]  # fmt: skip


def score_outputs(outputs: dict, targets: list, classes: int) -> float:
    """mAP@.5 of raw model outputs (int8 acceptance)."""
    preds = as_preds({k: np.asarray(v) for k, v in outputs.items()})
    found = scores(preds, as_targets(*zip(*targets)) if targets else [], [str(i) for i in range(classes)], 0.3)
    return found["map50"]
