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
