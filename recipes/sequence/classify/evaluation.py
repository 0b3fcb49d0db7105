"""Score a trained network on one split, next to a summary-statistics baseline fitted on the train split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.classification import classification_report
from aiaas_recipes.common.report import add_baseline
from aiaas_recipes.sequence.classify.summary import summary_statistics
from aiaas_recipes.sequence.classify.summary_lr import SummaryLR
from aiaas_recipes.sequence.classify.training import SequenceDataset, load_split

HEADLINE = ("accuracy", "macro_f1")
BASELINE = "HistGradientBoosting on per-feature summary statistics"


@torch.inference_mode()
def predict_split(network: torch.nn.Module, dataset_dir: Path, split: str, batch_size: int = 256) -> np.ndarray:
    if isinstance(network, SummaryLR):
        return network.predict(*load_split(dataset_dir, split)[:2])
    network.eval()
    data = SequenceDataset(*load_split(dataset_dir, split))
    preds = [
        network(*data.__getitems__(list(range(start, min(start + batch_size, len(data)))))[:2]).argmax(-1).numpy()
        for start in range(0, len(data), batch_size)
    ]
    return np.concatenate(preds) if preds else np.zeros(0, np.int64)


def baseline_predictions(dataset_dir: Path, split: str, seed: int = 0) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingClassifier

    values, lengths, labels = load_split(dataset_dir, "train")
    model = HistGradientBoostingClassifier(random_state=seed).fit(summary_statistics(values, lengths), labels)
    values, lengths, _ = load_split(dataset_dir, split)
    return model.predict(summary_statistics(values, lengths))


def evaluate_split(network: torch.nn.Module, dataset_dir: Path, manifest: dict, split: str) -> dict:
    classes = manifest["classes"]
    labels = load_split(dataset_dir, split)[2]
    report = classification_report(labels, predict_split(network, dataset_dir, split), classes)
    baseline = classification_report(labels, baseline_predictions(dataset_dir, split), classes)
    return add_baseline(report, baseline, BASELINE, f"Model vs {BASELINE} (same split)", HEADLINE, whole=True)
