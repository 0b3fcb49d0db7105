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
        raise UserError(f"the dataset has no {split} samples to evaluate on", "raise data.split.test")
    checkpoint = checkpoints.load(checkpoints.path_for_run(run_id), recipe)
    report = recipe.evaluate(recipe.load_model(checkpoint), dataset.dir, dataset.manifest, split)
    out_dir = workspace.run_dir(run_id) / "evaluation"
    with workspace.atomic_dir(out_dir) as temp:
        workspace.write_json(temp / "metrics.json", report)
        recipe.write_plots(report, temp)
    return report


def log(report: dict, run_id: str) -> None:
    metrics = {"test_accuracy": report["accuracy"], "test_macro_f1": report["macro_f1"]}
    if "baseline" in report:
        metrics.update({f"baseline_test_{key}": report["baseline"][key] for key in ("accuracy", "macro_f1")})
    tracking.log_metrics(metrics)
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
    if "compare" in report:
        console.show(_compare_table(report["compare"]))


def _compare_table(compare: dict) -> Table:
    """A recipe's side-by-side table: {"title", "columns": [...], "rows": {metric: [value per column]}}."""
    table = Table(title=compare.get("title"))
    table.add_column("metric")
    for column in compare["columns"]:
        table.add_column(column, justify="right")
    for name, values in compare["rows"].items():
        table.add_row(name, *(f"{v:.4f}" if isinstance(v, float) else str(v) for v in values))
    return table


def _headline(report: dict) -> dict[str, Any]:
    return {k: report[k] for k in ("accuracy", "macro_f1", "per_class") if k in report}


def metrics_summary(report: dict) -> dict[str, Any]:
    summary = _headline(report)
    if "baseline" in report:  # a reference model scored on the same split, e.g. TF-IDF for text
        summary["baseline"] = {"name": report["baseline"].get("name"), **_headline(report["baseline"])}
    return summary
