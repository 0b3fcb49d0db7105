"""Evaluate an embedding network on identities it never saw: verification, identification and open-set figures beside
a baseline (cosine on raw pixels), the ROC curves, and the threshold picked on the validation identities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.data.rows import open_split
from aiaas_recipes.common.vision.batches import Standardiser
from aiaas_recipes.image_embed import metrics
from aiaas_recipes.image_embed.training import THRESHOLD_FAR

NAMES = ("tar_at_far_1e-2", "tar_at_far_1e-3", "roc_auc", "eer", "top1", "top5", "dir_at_far_1e-2")
ROC_POINTS = 200  # points of each ROC curve kept in the report (for the plot)


@torch.inference_mode()
def embed_split(network: torch.nn.Module, dataset_dir: Path, manifest: dict, split: str, batch: int = 256):
    """(embeddings, identity labels) of every image of ``split``."""
    arrays = open_split(dataset_dir, split, ("x", "y"))
    standardise = Standardiser(manifest["mean"], manifest["std"])
    parts = [network(standardise(np.array(arrays["x"][i : i + batch]))).numpy()
             for i in range(0, len(arrays["y"]), batch)]  # fmt: skip
    return np.concatenate(parts) if parts else np.zeros((0, 1), np.float32), np.asarray(arrays["y"])


def raw_pixels(dataset_dir: Path, manifest: dict, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The baseline's embeddings: the standardised pixels themselves."""
    arrays = open_split(dataset_dir, split, ("x", "y"))
    x = Standardiser(manifest["mean"], manifest["std"])(np.array(arrays["x"])).numpy()
    return x.reshape(len(x), -1), np.asarray(arrays["y"])


def scores(emb: np.ndarray, labels: np.ndarray, dataset_dir: Path, split: str) -> dict:
    """The report's figures for one set of embeddings; the given verification pairs (test_pairs.npy) when any."""
    emb = metrics.l2_normalise(emb)
    pairs_file = Path(dataset_dir) / "test_pairs.npy"
    if split == "test" and pairs_file.is_file():
        i, j, same = np.load(pairs_file).T
        cos = np.einsum("nd,nd->n", emb[i], emb[j])
        genuine, impostor = cos[same == 1], cos[same == 0]
    else:
        genuine, impostor = metrics.pair_scores(emb, labels)
    far, tar = metrics.roc(genuine, impostor)
    keep = np.unique(np.linspace(0, len(far) - 1, ROC_POINTS).astype(int))
    report = {**metrics.verification(genuine, impostor), **metrics.identification(emb, labels)}
    return {**report, "roc": {"far": far[keep].tolist(), "tar": tar[keep].tolist()}}, genuine, impostor


def evaluate_split(network: torch.nn.Module, dataset_dir: Path, manifest: dict, split: str) -> dict:
    network = network.eval()
    val_emb, val_labels = embed_split(network, dataset_dir, manifest, "val")
    _, impostor = metrics.pair_scores(metrics.l2_normalise(val_emb), val_labels)
    threshold = metrics.threshold_at_far(impostor, THRESHOLD_FAR)
    emb, labels = embed_split(network, dataset_dir, manifest, split)
    report, genuine, impostor = scores(emb, labels, dataset_dir, split)
    baseline, _, _ = scores(*raw_pixels(dataset_dir, manifest, split), dataset_dir, split)
    report.update(
        threshold=threshold,
        threshold_far=THRESHOLD_FAR,
        # the validation threshold on these unseen identities: what serving's same/different answers would be
        tar_at_threshold=float(np.mean(genuine > threshold)) if len(genuine) else 0.0,
        far_at_threshold=float(np.mean(impostor > threshold)) if len(impostor) else 0.0,
        identities=len(np.unique(labels)),
        baseline={"name": "cosine on raw pixels", **baseline},
    )
    report["compare"] = {
        "title": f"{split} identities unseen in training: model vs baseline",
        "columns": ["model", "raw pixels"],
        "rows": {name: [report.get(name), baseline.get(name)] for name in NAMES},
    }
    return report


def write_roc(report: dict, path: Path) -> Path:
    """The ROC curves of the model and the baseline, FAR on a log axis."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    for name, part in (("model", report), (report["baseline"]["name"], report["baseline"])):
        far, tar = np.asarray(part["roc"]["far"]), np.asarray(part["roc"]["tar"])
        ax.plot(np.maximum(far, 1e-4), tar, label=f"{name} (AUC {part['roc_auc']:.3f})")
    ax.set(xscale="log", xlabel="false accept rate", ylabel="true accept rate", title="verification ROC", ylim=(0, 1))
    ax.axvline(THRESHOLD_FAR, color="grey", linestyle=":")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
