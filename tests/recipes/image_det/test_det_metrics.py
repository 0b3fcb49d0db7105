"""image-det's scores come from torchmetrics' COCO mAP (pycocotools): checked on predictions with known answers."""

from __future__ import annotations

import torch

from aiaas_recipes.image_det.metrics import precision_recall, scores

CLASSES = ["circle", "square"]
TARGETS = [
    {"boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30]]), "labels": torch.tensor([0, 1])},
    {"boxes": torch.tensor([[5.0, 5, 15, 15]]), "labels": torch.tensor([1])},
]


def pred(boxes, scores_, labels) -> dict:
    return {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), "scores": torch.tensor(scores_),
            "labels": torch.tensor(labels)}  # fmt: skip


def test_perfect_detections_score_one_everywhere():
    preds = [pred([[0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.8], [0, 1]), pred([[5, 5, 15, 15]], [0.7], [1])]
    report = scores(preds, TARGETS, CLASSES, threshold=0.5)
    assert report["map"] == report["map50"] == 1.0 and report["precision"] == report["recall"] == 1.0
    assert report["per_class"]["square"]["boxes"] == 2 and report["per_class"]["circle"]["ap50"] == 1.0
    assert len(report["pr_curve"]["precision"]["circle"]) == len(report["pr_curve"]["recall"]) == 101


def test_wrong_class_loose_box_and_low_score_count_against_the_model():
    preds = [
        pred([[0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.8], [1, 1]),  # the circle called a square
        pred([[5, 5, 12, 12], [40, 40, 50, 50]], [0.7, 0.2], [1, 0]),  # IoU .49: a miss at .5; a stray low score
    ]
    report = scores(preds, TARGETS, CLASSES, threshold=0.5)
    assert report["map50"] < 0.5 and report["per_class"]["circle"]["ap"] == 0.0
    assert precision_recall(preds, TARGETS, 0.5) == (1 / 3, 1 / 3)  # one hit of three kept, of three true boxes
    assert precision_recall(preds, TARGETS, 0.1) == (1 / 4, 1 / 3)  # the stray one counts once kept
