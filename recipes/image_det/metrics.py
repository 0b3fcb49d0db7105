"""Detection scores: COCO mAP@[.5:.95], mAP@.5 and per-class AP from torchmetrics' MeanAveragePrecision (COCO
backend: pycocotools), plus precision and recall at the served score threshold."""

from __future__ import annotations

import numpy as np
import torch

from aiaas_recipes.image_det.boxes import detections_of, iou

EVAL_THRESHOLD = 0.01  # mAP ranks every detection: keep low-scoring ones, as COCO evaluation does
EVAL_MAX = 100


def new_map(class_metrics: bool = True):
    from torchmetrics.detection import MeanAveragePrecision

    return MeanAveragePrecision(
        box_format="xyxy", iou_type="bbox", backend="pycocotools", class_metrics=class_metrics, extended_summary=True
    )


def pr_curves(result: dict, present: list[int], classes: list[str]) -> dict:
    """Precision at COCO's 101 recall points per class, at IoU .5 (all sizes, 100 detections); None: undefined."""
    precision = result["precision"][0, :, :, 0, -1].numpy()  # (recall points, present classes)
    curves = {}
    for j, c in enumerate(present):
        if 0 <= c < len(classes):
            curves[classes[c]] = [None if v < 0 else round(float(v), 4) for v in precision[:, j]]
    return {"iou": 0.5, "recall": [round(r / 100, 2) for r in range(101)], "precision": curves}


def as_preds(outputs: dict, nms_iou: float = 0.5) -> list[dict]:
    """torchmetrics' prediction dicts from a batch of model outputs (numpy)."""
    found = detections_of(outputs, EVAL_THRESHOLD, EVAL_MAX, nms_iou)
    return [
        {"boxes": torch.from_numpy(b), "scores": torch.from_numpy(s), "labels": torch.from_numpy(lab)}
        for b, s, lab in found
    ]


def as_targets(boxes: list, labels: list) -> list[dict]:
    return [{"boxes": torch.as_tensor(b, dtype=torch.float32).reshape(-1, 4), "labels": torch.as_tensor(lab)}
            for b, lab in zip(boxes, labels)]  # fmt: skip


def precision_recall(preds: list[dict], targets: list[dict], threshold: float, match_iou: float = 0.5):
    """Precision and recall of the detections scoring at least ``threshold``: each true box matched at most once
    (greedy by score, same class, IoU >= ``match_iou``). torchmetrics reports recall over all scores, not at one."""
    hits = found = wanted = 0
    for pred, target in zip(preds, targets):
        keep = pred["scores"].numpy() >= threshold
        boxes, labels = pred["boxes"].numpy()[keep], pred["labels"].numpy()[keep]
        true_boxes, true_labels = target["boxes"].numpy(), target["labels"].numpy()
        free = np.ones(len(true_boxes), bool)
        for box, label in zip(boxes, labels):  # already best first
            overlap = np.where(free & (true_labels == label), iou(box, true_boxes) if len(true_boxes) else 0, -1)
            if len(overlap) and overlap.max() >= match_iou:
                free[int(overlap.argmax())] = False
                hits += 1
        found, wanted = found + len(boxes), wanted + len(true_boxes)
    return hits / max(found, 1), hits / max(wanted, 1)


def scores(preds: list[dict], targets: list[dict], classes: list[str], threshold: float) -> dict:
    """The report's figures: map, map50, map75, precision, recall and per-class AP (-1 where a class is absent)."""
    metric = new_map()
    metric.update(preds, targets)
    result = metric.compute()
    precision, recall = precision_recall(preds, targets, threshold)
    present = [int(c) for c in np.atleast_1d(result["classes"].numpy())]
    per_map, per_recall = (
        np.atleast_1d(result["map_per_class"].numpy()),
        np.atleast_1d(result["mar_100_per_class"].numpy()),
    )
    per_class = {name: {"ap": -1.0, "ap50": -1.0, "ar100": -1.0, "boxes": 0} for name in classes}
    for j, c in enumerate(present):
        if 0 <= c < len(classes):
            per_class[classes[c]].update(ap=float(per_map[j]), ar100=float(per_recall[j]))
    for target in targets:
        for c in target["labels"].tolist():
            per_class[classes[c]]["boxes"] += 1
    curves = pr_curves(result, present, classes)
    for name, values in curves["precision"].items():  # COCO's AP at IoU .5: mean precision over the recall points
        per_class[name]["ap50"] = round(float(np.mean([v or 0.0 for v in values])), 6)
    return {
        "map": float(result["map"]),
        "map50": float(result["map_50"]),
        "map75": float(result["map_75"]),
        "precision": precision,
        "recall": recall,
        "score_threshold": threshold,
        "per_class": per_class,
        "pr_curve": curves,
    }
