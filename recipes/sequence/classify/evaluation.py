"""Score a trained network on one split, next to a summary-statistics baseline fitted on the train split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.classification import classification_report
from aiaas_recipes.common.report import add_baseline
from aiaas_recipes.sequence.classify.training import SequenceDataset, load_split

HEADLINE = ("accuracy", "macro_f1")
BASELINE = "HistGradientBoosting on per-feature summary statistics"


@torch.inference_mode()
def predict_split(network: torch.nn.Module, dataset_dir: Path, split: str, batch_size: int = 256) -> np.ndarray:
    data = SequenceDataset(*load_split(dataset_dir, split))
    preds = [
        network(*data.__getitems__(list(range(start, min(start + batch_size, len(data)))))[:2]).argmax(-1).numpy()
        for start in range(0, len(data), batch_size)
    ]
    return np.concatenate(preds) if preds else np.zeros(0, np.int64)


def summary_statistics(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per sequence and feature: mean, std, min, max, 10/50/90th percentiles and the mean size of a step, over
    its real steps; plus its length. None of them depends on the order of the steps beyond neighbours."""
    rows = []
    for sequence, length in zip(values, lengths):
        real = sequence[: max(int(length), 1)].astype(np.float64)
        steps = np.abs(np.diff(real, axis=0)).mean(0) if len(real) > 1 else np.zeros(real.shape[1])
        parts = [real.mean(0), real.std(0), real.min(0), real.max(0), *np.percentile(real, [10, 50, 90], 0), steps]
        rows.append(np.concatenate([*parts, [length]]))
    return np.asarray(rows).reshape(len(values), -1)


def baseline_predictions(dataset_dir: Path, split: str, seed: int = 0) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingClassifier

    values, lengths, labels = load_split(dataset_dir, "train")
    model = HistGradientBoostingClassifier(random_state=seed).fit(summary_statistics(values, lengths), labels)
    values, lengths, _ = load_split(dataset_dir, split)
    return model.predict(summary_statistics(values, lengths))


def evaluate_split(network: torch.nn.Module, dataset_dir: Path, manifest: dict, split: str) -> dict:
    classes = manifest["classes"]
    labels = load_split(dataset_dir, split)[2]
    report = classification_report(labels, predict_split(network.eval(), dataset_dir, split), classes)
    baseline = classification_report(labels, baseline_predictions(dataset_dir, split), classes)
    return add_baseline(report, baseline, BASELINE, f"Model vs {BASELINE} (same split)", HEADLINE, whole=True)
