"""An evaluation report shown to people: rich tables and plots (confusion matrix, residuals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def tables(report: dict) -> list[Any]:
    from rich.table import Table

    if "per_class" in report:
        table = Table(title="Per class")
        for column in ("class", "precision", "recall", "f1", "support"):
            table.add_column(column, justify="left" if column == "class" else "right")
        for name, row in report["per_class"].items():
            table.add_row(name, *(f"{row[k]:.3f}" for k in ("precision", "recall", "f1")), str(row["support"]))
        table.caption = (
            f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}   "
            f"ROC AUC {report['roc_auc']:.4f}   log loss {report['log_loss']:.4f}"
        )
        return [table]
    table = Table(title="Residuals (actual - predicted)")
    for column in report["residual_quantiles"]:
        table.add_column(column, justify="right")
    table.add_row(*(f"{v:.4g}" for v in report["residual_quantiles"].values()))
    table.caption = f"RMSE {report['rmse']:.4g}   MAE {report['mae']:.4g}   R² {report['r2']:.4f}"
    return [table]


def residual_plot(report: dict, path: Path) -> None:
    """Residuals against predictions, and predictions against actual values."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    actual, predicted = np.asarray(report["points"]["actual"]), np.asarray(report["points"]["predicted"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
    left.scatter(predicted, actual - predicted, s=8, alpha=0.6)
    left.axhline(0.0, color="grey", linewidth=1)
    left.set_xlabel("predicted")
    left.set_ylabel("residual (actual - predicted)")
    right.scatter(actual, predicted, s=8, alpha=0.6)
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    right.plot([low, high], [low, high], color="grey", linewidth=1)
    right.set_xlabel("actual")
    right.set_ylabel("predicted")
    fig.suptitle(f"RMSE {report['rmse']:.4g}, MAE {report['mae']:.4g}, R² {report['r2']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plots(report: dict, out_dir: Path) -> list[Path]:
    if "confusion_matrix" in report:
        from aiaas_recipes.common.classification import plot_confusion

        path = Path(out_dir) / "confusion_matrix.png"
        plot_confusion(report, path)
        return [path]
    if not report.get("points", {}).get("actual"):
        return []
    path = Path(out_dir) / "residuals.png"
    residual_plot(report, path)
    return [path]
