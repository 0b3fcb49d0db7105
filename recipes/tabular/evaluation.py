"""Score a trained model on one split, next to a HistGradientBoosting baseline trained on the same train split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_recipes.common.classification import classification_report
from aiaas_recipes.common.report import add_baseline
from aiaas_recipes.tabular.dataset import load_split
from aiaas_recipes.tabular.estimator import features, threads_for
from aiaas_recipes.tabular.export import feeds_of, reference_outputs

CLASSIFICATION_METRICS = ("accuracy", "macro_f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")
BASELINE = "HistGradientBoosting (scikit-learn defaults)"
PLOT_POINTS = 5000  # predictions kept in the report for the residual plot
EPS = 1e-7


def roc_auc(y: np.ndarray, probabilities: np.ndarray) -> float:
    """Binary AUC, or the macro average of one-vs-rest AUCs over the classes present in ``y`` (NaN if none)."""
    from sklearn.metrics import roc_auc_score

    if probabilities.shape[1] == 2:
        return float(roc_auc_score(y, probabilities[:, 1])) if len(np.unique(y)) == 2 else float("nan")
    scores = [
        roc_auc_score(y == c, probabilities[:, c]) for c in range(probabilities.shape[1]) if 0 < np.sum(y == c) < len(y)
    ]
    return float(np.mean(scores)) if scores else float("nan")


def classification_metrics(y: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> dict[str, Any]:
    from sklearn.metrics import log_loss

    report = classification_report(y, probabilities.argmax(1), classes)
    report["roc_auc"] = roc_auc(y, probabilities)
    clipped = np.clip(probabilities, EPS, 1.0)
    report["log_loss"] = float(log_loss(y, clipped / clipped.sum(1, keepdims=True), labels=list(range(len(classes)))))
    return report


def regression_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    residuals = y - predicted
    return {
        "rmse": float(np.sqrt(mean_squared_error(y, predicted))),
        "mae": float(mean_absolute_error(y, predicted)),
        "r2": float(r2_score(y, predicted)) if len(y) > 1 else float("nan"),
        "residual_quantiles": {f"p{q}": float(np.percentile(residuals, q)) for q in (5, 25, 50, 75, 95)},
    }


def baseline_outputs(dataset_dir: Path, split: str, regression: bool, seed: int = 0) -> np.ndarray:
    """Probabilities (or values) of a default HistGradientBoosting fitted on the train split; categorical
    columns are native categorical features here (this model is not exported)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    numeric, categorical, y = load_split(dataset_dir, "train")
    mask = [False] * numeric.shape[1] + [True] * categorical.shape[1]
    kind = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
    model = kind(random_state=seed, categorical_features=mask if any(mask) else None)
    with threads_for(len(y)):
        model.fit(features(numeric, categorical), y)
        numeric, categorical, _ = load_split(dataset_dir, split)
        x = features(numeric, categorical)
        return model.predict(x) if regression else model.predict_proba(x)


def evaluate_split(network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict[str, Any]:
    numeric, categorical, y = load_split(dataset_dir, split)
    outputs = reference_outputs(network, feeds_of(numeric, categorical))
    regression = manifest["task"] == "regression"
    baseline = baseline_outputs(dataset_dir, split, regression)
    if regression:
        predicted = outputs["value"].reshape(-1).astype(np.float64)
        report = regression_metrics(y.astype(np.float64), predicted)
        base = regression_metrics(y.astype(np.float64), baseline)
        keep = slice(0, PLOT_POINTS)
        report["points"] = {"actual": y[keep].tolist(), "predicted": predicted[keep].tolist()}
        names = REGRESSION_METRICS
    else:
        report = classification_metrics(y, outputs["probabilities"], manifest["classes"])
        base = classification_metrics(y, baseline, manifest["classes"])
        names = CLASSIFICATION_METRICS
    report["samples"] = int(len(y))
    return add_baseline(report, base, BASELINE, f"Model vs {BASELINE} ({split} split, same train split)", names)
