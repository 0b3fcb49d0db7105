"""Segmentation metrics (torchmetrics): mIoU, per-class IoU and Dice, pixel accuracy; and the colour baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.report import add_baseline
from aiaas_recipes.image_seg.datamodule import MaskDataset, load_split
from aiaas_recipes.image_seg.images import IGNORE, mask_png

EXAMPLES = 8  # test images drawn in the overlay grid


def scores(pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor, classes: list[str]) -> dict:
    """mIoU, pixel accuracy, mean Dice, per-class IoU/Dice/support and the pixel confusion matrix (255 ignored)."""
    from torchmetrics.functional import classification as tm

    # np.array: int64 copies (the masks may be read-only memory-mapped splits, which torch will not wrap quietly)
    pred, target = torch.from_numpy(np.array(pred, dtype=np.int64)), torch.from_numpy(np.array(target, dtype=np.int64))
    n, common = len(classes), {"ignore_index": IGNORE, "validate_args": False}
    iou = tm.multiclass_jaccard_index(pred, target, n, average="none", **common)
    dice = tm.multiclass_f1_score(pred, target, n, average="none", multidim_average="global", **common)  # F1 = Dice
    matrix = tm.multiclass_confusion_matrix(pred, target, n, **common)
    return {
        "miou": float(tm.multiclass_jaccard_index(pred, target, n, average="macro", **common)),
        "pixel_accuracy": float(tm.multiclass_accuracy(pred, target, n, average="micro", **common)),
        "dice": float(tm.multiclass_f1_score(pred, target, n, average="macro", **common)),
        "per_class": {
            name: {"iou": float(iou[i]), "dice": float(dice[i]), "pixels": int(matrix[i].sum())}
            for i, name in enumerate(classes)
        },
        "confusion_matrix": matrix.tolist(),
        "classes": list(classes),
    }


@torch.inference_mode()
def predict_masks(network: torch.nn.Module, images: np.ndarray, manifest: dict, batch_size: int = 64) -> np.ndarray:
    data = MaskDataset(images, np.zeros(images.shape[:3], np.uint8), manifest["mean"], manifest["std"])
    parts = [np.zeros((0, *images.shape[1:3]), np.uint8)]
    for start in range(0, len(data), batch_size):
        x, _ = data.__getitems__(list(range(start, min(start + batch_size, len(data)))))
        parts.append(network(x).argmax(1).numpy().astype(np.uint8))
    return np.concatenate(parts)


def colour_baseline(dataset_dir: Path, manifest: dict, images: np.ndarray) -> np.ndarray:
    """Each pixel gets the class whose mean training colour is nearest: what colour alone explains."""
    train_x, train_y = load_split(dataset_dir, "train")
    pixels, labels = train_x.reshape(-1, 3).astype(np.float32), train_y.ravel()
    far = np.full(3, 1e6)  # a class with no training pixels is never the nearest
    classes = range(len(manifest["classes"]))
    means = np.stack([pixels[labels == c].mean(0) if (labels == c).any() else far for c in classes]).astype(np.float32)
    flat = images.reshape(-1, 3).astype(np.float32)
    nearest = np.concatenate(
        [((flat[s : s + 65536, None, :] - means[None]) ** 2).sum(-1).argmin(1) for s in range(0, len(flat), 65536)]
        or [np.zeros(0, np.int64)]
    )
    return nearest.reshape(images.shape[:3]).astype(np.uint8)


def evaluate_split(network: torch.nn.Module, dataset_dir: Path, manifest: dict, split: str) -> dict:
    images, masks = load_split(dataset_dir, split)
    classes = manifest["classes"]
    pred = predict_masks(network.eval(), images, manifest)
    report = scores(pred, masks, classes)
    baseline = scores(colour_baseline(dataset_dir, manifest, images), masks, classes)
    title = f"Model vs per-pixel colour baseline ({split} split)"
    add_baseline(report, baseline, "nearest class colour", title, ("miou", "pixel_accuracy", "dice"))
    pick = list(range(min(EXAMPLES, len(images))))
    report["examples"] = {"dataset_dir": str(dataset_dir), "split": split, "index": pick,
                          "masks": [mask_png(pred[i]) for i in pick]}  # fmt: skip
    return report


def score_logits(logits: np.ndarray, masks: np.ndarray, classes: list[str]) -> float:
    return scores(np.asarray(logits).argmax(1), masks, classes)["miou"]
