"""The evaluation report's model-vs-baselines parts (see Recipe.evaluate): the "baseline" entry and the "compare"
table {"title", "columns", "rows"}, and the per-class (per-type) score table that classification reports show."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any


def baseline_entry(name: str, scores: Mapping[str, Any], keys: Iterable[str] | None = None) -> dict:
    """The report's "baseline": its ``name`` and its scores (only ``keys`` where given)."""
    return {"name": name, **(dict(scores) if keys is None else {key: scores[key] for key in keys})}


def compare_table(
    title: str, columns: Mapping[str, Mapping[str, Any]], keys: Iterable[str], label: Callable[[str], str] = str
) -> dict:
    """The report's "compare": one column per entry of ``columns`` (heading -> scores, the model first), one row
    per score key, named ``label(key)`` (e.g. "ndcg@10" for "ndcg")."""
    return {
        "title": title,
        "columns": list(columns),
        "rows": {label(key): [scores[key] for scores in columns.values()] for key in keys},
    }


def add_baseline(
    report: dict, baseline: Mapping[str, Any], name: str, title: str, headline: Iterable[str], whole: bool = False
) -> dict:
    """Add "baseline" (its headline scores, or all of them with ``whole``) and a model-vs-baseline "compare" table
    of the headline scores to ``report``; returns it."""
    headline = tuple(headline)
    report["baseline"] = baseline_entry(name, baseline, None if whole else headline)
    report["compare"] = compare_table(title, {"model": report, "baseline": baseline}, headline)
    return report


def scores_table(title: str, first: str, rows: Mapping[str, Mapping[str, Any]], caption: str):
    """A rich table: precision, recall, F1 and support per row (a class, an entity type), named in column ``first``."""
    from rich.table import Table

    table = Table(title=title)
    for column in (first, "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == first else "right")
    for name, row in rows.items():
        table.add_row(name, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"]))
    table.caption = caption
    return table
