"""Run a trained network over one split of the dataset dir and report its metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.classification import classification_report
from aiaas_recipes.image_cls.datamodule import ArrayDataset, load_split


@torch.inference_mode()
def predict_split(network: torch.nn.Module, dataset_dir: Path, manifest: dict, split: str, batch_size: int = 256):
    """Predicted class indices and true labels for ``split``."""
    images, labels = load_split(dataset_dir, split)
    data = ArrayDataset(images, labels, manifest["mean"], manifest["std"])
    preds = []
    for start in range(0, len(data), batch_size):
        x, _ = data.__getitems__(list(range(start, min(start + batch_size, len(data)))))
        preds.append(network(x).argmax(-1).numpy())
    return (np.concatenate(preds) if preds else np.zeros(0, np.int64)), labels


def evaluate_split(network: torch.nn.Module, dataset_dir: Path, manifest: dict, split: str) -> dict:
    preds, labels = predict_split(network.eval(), dataset_dir, manifest, split)
    return classification_report(labels, preds, manifest["classes"])
