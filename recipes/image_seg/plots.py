"""Evaluation pictures: the pixel confusion matrix and test images with true and predicted masks overlaid."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_recipes.image_seg.images import IGNORE, read_mask_png


def palette(n: int) -> np.ndarray:
    """A fixed colour per class (class 0, usually background, is black: it leaves the picture visible)."""
    import matplotlib

    colours = (np.asarray(matplotlib.colormaps["tab10" if n <= 10 else "tab20"].colors) * 255).astype(np.uint8)
    table = np.zeros((256, 3), np.uint8)
    for i in range(1, n):
        table[i] = colours[(i - 1) % len(colours)]
    table[IGNORE] = (255, 255, 255)
    return table


def overlay(image: np.ndarray, mask: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The image with each non-background class tinted in its colour."""
    tint = table[mask].astype(np.float32)
    alpha = np.where(mask[..., None] > 0, 0.55, 0.0)
    return (image * (1 - alpha) + tint * alpha).astype(np.uint8)


def write_overlays(report: dict, path: Path) -> bool:
    """A grid: one row per test image (picture, truth, prediction); False when there is nothing to draw."""
    examples = report.get("examples")
    if not examples or not examples["index"]:
        return False
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    folder = Path(examples["dataset_dir"])
    images = np.load(folder / f"{examples['split']}_x.npy", mmap_mode="r")
    truth = np.load(folder / f"{examples['split']}_y.npy", mmap_mode="r")
    table = palette(len(report["classes"]))
    rows = len(examples["index"])
    fig, axes = plt.subplots(rows, 3, figsize=(6, 2 * rows), squeeze=False)
    for row, (i, encoded) in enumerate(zip(examples["index"], examples["masks"])):
        image = np.asarray(images[i])
        shown = (image, overlay(image, np.asarray(truth[i]), table), overlay(image, read_mask_png(encoded), table))
        for ax, picture, title in zip(axes[row], shown, ("image", "true", "predicted")):
            ax.imshow(picture, interpolation="nearest")
            ax.set_axis_off()
            if row == 0:
                ax.set_title(title)
    handles = [plt.Rectangle((0, 0), 1, 1, color=table[c] / 255) for c in range(1, len(report["classes"]))]
    fig.legend(handles, report["classes"][1:], loc="lower center", ncol=min(len(handles), 5) or 1)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_confusion(report: dict, path: Path) -> None:
    """Pixel confusion matrix, each row normalised to the true class's pixels."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    matrix, classes = np.asarray(report["confusion_matrix"], dtype=np.float64), report["classes"]
    share = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    size = max(4.0, 0.45 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=90)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(classes) <= 30:
        for (i, j), value in np.ndenumerate(share):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7)
    ax.set_title(f"pixels: mIoU {report['miou']:.3f}, accuracy {report['pixel_accuracy']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
