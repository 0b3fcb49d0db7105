"""evaluate: checkpoint + dataset dir -> metrics.json and plots, logged to the same run."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from aiaas_cli import checkpoints, console, tracking, workspace
from aiaas_cli.errors import UserError
from aiaas_cli.recipe_api import Recipe
from aiaas_cli.stages.preprocess import Dataset


def evaluate(recipe: Recipe, run_id: str, dataset: Dataset, split: str = "test") -> dict:
    """Score the run's best checkpoint on ``split``; write metrics.json and plots."""
    if sum(dataset.manifest["counts"].get(split, {}).values()) == 0:
        raise UserError(f"the dataset has no {split} images to evaluate on", "raise data.split.test")
    checkpoint = checkpoints.load(checkpoints.path_for_run(run_id), recipe)
    report = recipe.evaluate(recipe.load_model(checkpoint), dataset.dir, dataset.manifest, split)
    out_dir = workspace.run_dir(run_id) / "evaluation"
    with workspace.atomic_dir(out_dir) as temp:
        workspace.write_json(temp / "metrics.json", report)
        recipe.write_plots(report, temp)
    return report


def log(report: dict, run_id: str) -> None:
    tracking.log_metrics({"test_accuracy": report["accuracy"], "test_macro_f1": report["macro_f1"]})
    tracking.log_artifact(workspace.run_dir(run_id) / "evaluation", "evaluation")


def render(report: dict) -> None:
    """Per-class table, then the headline numbers."""
    table = Table(title="Evaluation (test split)")
    for column in ("class", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, row in report.get("per_class", {}).items():
        table.add_row(name, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"]))
    table.caption = f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}"
    console.show(table)


def metrics_summary(report: dict) -> dict[str, Any]:
    return {k: report[k] for k in ("accuracy", "macro_f1", "per_class") if k in report}
