"""evaluate: trained model + dataset dir -> metrics.json and plots, logged to the same run."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from aiaas_cli import console, tracking, workspace
from aiaas_cli.artifacts import Evaluated, Trained
from aiaas_cli.errors import UserError
from aiaas_cli.recipe_api import Recipe
from aiaas_cli.stages import leaderboard


def evaluate(recipe: Recipe, trained: Trained, split: str = "test") -> Evaluated:
    """Score the run's best checkpoint on ``split``; write metrics.json and plots."""
    dataset = trained.dataset
    if dataset.manifest["splits"].get(split, 0) == 0:
        raise UserError(f"the dataset has no {split} samples to evaluate on", "raise data.split.test")
    network, _ = recipe.load_model(trained.checkpoint)
    report = recipe.evaluate(network, dataset.dir, dataset.manifest, split)
    missing = [name for name in recipe.metrics.names if name not in report]
    if missing:
        raise TypeError(f"recipe {recipe.name}: its evaluation report lacks {', '.join(missing)}")
    rows = leaderboard.of_run(trained)
    if rows:  # model=auto: every candidate on this split too
        report["leaderboard"] = leaderboard.score(recipe, trained, rows, report, split)
    out_dir = workspace.run_dir(trained.run_id) / "evaluation"
    with workspace.atomic_dir(out_dir) as temp:
        workspace.write_json(temp / "metrics.json", report)
        names = [path.name for path in recipe.write_plots(report, temp)]
        if rows:
            workspace.write_json(temp / leaderboard.JSON_NAME, report["leaderboard"])
            plotted = leaderboard.plot(recipe, report["leaderboard"], temp / leaderboard.PLOT_NAME)
            names += [leaderboard.JSON_NAME] + ([plotted.name] if plotted else [])
    return Evaluated(trained.run_id, report, [out_dir / "metrics.json", *(out_dir / name for name in names)])


def _scalars(report: dict, names: tuple[str, ...]) -> dict[str, float]:
    return {name: float(report[name]) for name in names if isinstance(report.get(name), (int, float))}


def log(recipe: Recipe, evaluated: Evaluated) -> None:
    metrics = {f"test_{k}": v for k, v in _scalars(evaluated.report, recipe.metrics.names).items()}
    if "baseline" in evaluated.report:
        baseline = _scalars(evaluated.report["baseline"], recipe.metrics.names)
        metrics.update({f"baseline_test_{k}": v for k, v in baseline.items()})
    tracking.log_metrics(metrics)
    tracking.log_artifact(workspace.run_dir(evaluated.run_id) / "evaluation", "evaluation")


def render(recipe: Recipe, report: dict) -> None:
    """The recipe's tables, the side-by-side comparison, the leaderboard, then the headline figure."""
    for table in recipe.report_tables(report):
        console.show(table)
    if "compare" in report:
        console.show(_compare_table(report["compare"]))
    if "leaderboard" in report:
        console.show(leaderboard.table(recipe, report["leaderboard"]))
    headline = recipe.metrics.headline
    console.step(f"test {headline}: {report[headline]:.4f}")


def _compare_table(compare: dict) -> Table:
    """A recipe's side-by-side table: {"title", "columns": [...], "rows": {metric: [value per column]}}."""
    table = Table(title=compare.get("title"))
    table.add_column("metric")
    for column in compare["columns"]:
        table.add_column(column, justify="right")
    for name, values in compare["rows"].items():
        table.add_row(name, *(f"{v:.4f}" if isinstance(v, float) else str(v) for v in values))
    return table


def _headline(recipe: Recipe, report: dict) -> dict[str, Any]:
    keys = (*recipe.metrics.names, *recipe.metrics.details)
    return {key: report[key] for key in keys if key in report}


def metrics_summary(recipe: Recipe, report: dict) -> dict[str, Any]:
    """The --json `metrics`: the recipe's metrics, and the baseline's beside them when there is one."""
    summary = _headline(recipe, report)
    if "baseline" in report:  # a reference model scored on the same split, e.g. TF-IDF for text
        summary["baseline"] = {"name": report["baseline"].get("name"), **_headline(recipe, report["baseline"])}
    return summary
