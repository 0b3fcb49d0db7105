"""Evaluation pictures: test images with their true boxes (green) and predicted boxes (red, with label and score)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_recipes.image_det.datamodule import load_split

COLUMNS = 4


def _draw(ax, boxes, colour: str, texts=None) -> None:
    from matplotlib.patches import Rectangle

    for j, (x1, y1, x2, y2) in enumerate(boxes):
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=colour, linewidth=1.2))
        if texts:
            ax.text(x1, y1, texts[j], color="white", fontsize=6, va="bottom", bbox={"facecolor": colour, "pad": 0.5})


def write_grid(report: dict, path: Path) -> bool:
    """A grid of test images with true and predicted boxes; False when there is nothing to draw."""
    examples = report.get("examples")
    if not examples or not examples["index"]:
        return False
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    images, boxes, _ = load_split(Path(examples["dataset_dir"]), examples["split"])
    classes, count = report["classes"], len(examples["index"])
    rows = (count + COLUMNS - 1) // COLUMNS
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(2.5 * COLUMNS, 2.6 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, i, found in zip(axes.ravel(), examples["index"], examples["predicted"]):
        ax.imshow(np.asarray(images[i]), interpolation="nearest")
        _draw(ax, boxes[i], "limegreen")
        _draw(ax, [d["box"] for d in found], "red", [f"{classes[d['label']]} {d['score']:.2f}" for d in found])
    fig.suptitle(f"green: true, red: predicted (score >= {report['score_threshold']})  mAP@.5 {report['map50']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_pr_curve(report: dict, path: Path) -> bool:
    """Precision against recall per class at IoU .5 (COCO's interpolated curve); False when there is none."""
    curve = report.get("pr_curve")
    if not curve or not curve["precision"]:
        return False
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    for name, values in curve["precision"].items():
        ap = report["per_class"].get(name, {}).get("ap50", float("nan"))
        points = [(r, p) for r, p in zip(curve["recall"], values) if p is not None]
        ax.plot([r for r, _ in points], [p for _, p in points], label=f"{name} (AP@.5 {ap:.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"precision-recall at IoU {curve['iou']}  (mAP@.5 {report['map50']:.3f})")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
