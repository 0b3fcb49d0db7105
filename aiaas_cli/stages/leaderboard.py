"""The leaderboard of a model=auto run in `evaluate`: every candidate scored on the test split beside its validation
score, shown as a table, written as JSON and a bar plot, and carried in `--json` (AutoGluon's habit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from aiaas_cli import console
from aiaas_cli.artifacts import Trained
from aiaas_cli.recipe_api import Recipe
from aiaas_cli.training import candidates

JSON_NAME = "leaderboard.json"
PLOT_NAME = "leaderboard.png"
KEYS = ("name", "val", "test", "fit_s", "predict_ms", "chosen", "status", "error")


def of_run(trained: Trained) -> list[dict] | None:
    """The run's training leaderboard: handed on by `pipeline`, else read from the run (None: not model=auto)."""
    return trained.summary.get("leaderboard") or candidates.read_leaderboard(trained.run_id)


def score(recipe: Recipe, trained: Trained, rows: list[dict], report: dict, split: str) -> list[dict]:
    """``rows`` with each trained candidate's headline on ``split``; the chosen one's is ``report``'s own."""
    headline = recipe.metrics.headline
    scored = []
    for row in rows:
        test = None
        if row.get("chosen"):
            test = float(report[headline])
        elif row.get("checkpoint"):
            console.step(f"Scoring candidate {row['name']} on the {split} split")
            network, _ = recipe.load_model(candidates.checkpoint_of(trained.run_id, row))
            test = float(recipe.evaluate(network, trained.dataset.dir, trained.dataset.manifest, split)[headline])
        scored.append({key: test if key == "test" else row.get(key) for key in KEYS})
    return scored


def metrics(recipe: Recipe, rows: list[dict]) -> dict[str, float]:
    """Each candidate's scores as MLflow metrics (`candidate.<name>.test_<headline>`), comparable across runs."""
    headline = recipe.metrics.headline
    return {f"candidate.{row['name']}.{split}_{headline}": float(row[split])
            for row in rows for split in ("val", "test") if row[split] is not None}  # fmt: skip


def table(recipe: Recipe, rows: list[dict]) -> Table:
    """The leaderboard as a rich table, best validation score first, the served model marked."""
    headline = recipe.metrics.headline
    out = Table(title=f"Leaderboard (model=auto, ranked by val {headline})")
    for column in ("model", f"val {headline}", f"test {headline}", "fit s", "predict ms/item", "served"):
        out.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        figures = [_figure(row[key]) for key in ("val", "test", "fit_s", "predict_ms")]
        note = "✓" if row["chosen"] else (f"{row['status']}: {row['error']}" if row["status"] != "trained" else "")
        out.add_row(row["name"], *figures, note)
    return out


def _figure(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


def plot(recipe: Recipe, rows: list[dict], path: Path) -> Path | None:
    """A bar plot of each trained candidate's validation and test score (the served one's name marked)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    shown = [row for row in rows if row["val"] is not None]
    if not shown:
        return None
    names = [row["name"] + (" (served)" if row["chosen"] else "") for row in shown]
    positions = range(len(shown))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(shown) + 2), 3.5))
    ax.bar([p - 0.2 for p in positions], [row["val"] for row in shown], width=0.4, label="val")
    ax.bar([p + 0.2 for p in positions], [row["test"] or 0.0 for row in shown], width=0.4, label="test")
    ax.set_xticks(list(positions), names, rotation=20, ha="right")
    ax.set_ylabel(recipe.metrics.headline)
    ax.set_title("model=auto leaderboard")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
