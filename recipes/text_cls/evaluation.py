"""Score a trained network on one split, next to a TF-IDF + logistic-regression baseline on the same split."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aiaas_recipes.common.classification import classification_report
from aiaas_recipes.common.report import add_baseline
from aiaas_recipes.text_cls.datamodule import split_dataset
from aiaas_recipes.text_cls.dataset import read_texts

EXAMPLES = 8  # misclassified texts shown in the report
HEADLINE = ("accuracy", "macro_f1")
BASELINE = "TF-IDF + logistic regression"


@torch.inference_mode()
def predict_split(network: torch.nn.Module, dataset_dir: Path, split: str, batch_size: int = 256, manifest=None):
    """Predicted class indices and true labels for ``split``."""
    data = split_dataset(dataset_dir, manifest or {}, split)
    preds = [
        network(*data.__getitems__(list(range(start, min(start + batch_size, len(data)))))[:-1]).argmax(-1).numpy()
        for start in range(0, len(data), batch_size)
    ]
    return (np.concatenate(preds) if preds else np.zeros(0, np.int64)), data.labels.numpy()


def baseline_predictions(dataset_dir: Path, split: str) -> np.ndarray:
    """TF-IDF (word 1-2-grams) + logistic regression fitted on the train split, predicting ``split``."""
    stamp = (Path(dataset_dir) / "train_y.npy").stat().st_mtime_ns
    return _baseline_model(str(dataset_dir), stamp).predict(read_texts(dataset_dir, split))


@functools.lru_cache(maxsize=2)
def _baseline_model(dataset_dir: str, stamp: int) -> Any:
    """Fitted once per dataset in a process: model=auto's evaluations (each candidate on val and test) all print it."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train_y = np.load(Path(dataset_dir) / "train_y.npy")
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=1000, C=4.0),
    )
    return model.fit(read_texts(dataset_dir, "train"), train_y)


def misclassified(texts: list[str], labels: np.ndarray, preds: np.ndarray, classes: list[str]) -> list[dict]:
    wrong = np.flatnonzero(labels != preds)[:EXAMPLES]
    return [{"text": texts[i][:300], "true": classes[labels[i]], "predicted": classes[preds[i]]} for i in wrong]


def evaluate_split(network: torch.nn.Module, dataset_dir: Path, manifest: dict, split: str) -> dict:
    classes = manifest["classes"]
    preds, labels = predict_split(network.eval(), dataset_dir, split, manifest=manifest)
    report = classification_report(labels, preds, classes)
    baseline = classification_report(labels, baseline_predictions(dataset_dir, split), classes)
    title = f"Model vs {BASELINE} (same split)"
    add_baseline(report, baseline, BASELINE, title, HEADLINE, whole=True)
    report["misclassified"] = misclassified(read_texts(dataset_dir, split), labels, preds, classes)
    return report
