"""What preprocessing found, for people and for scripts: per-column rows, warnings, the rich table, --json keys."""

from __future__ import annotations

from typing import Any

from aiaas_recipes.tabular import values
from aiaas_recipes.tabular.infer import Column

EXAMPLES = 3  # spellings shown per merged category


def _numbers(column: dict) -> str:
    parts = []
    for feature in column["features"]:
        text = f"median {feature['fill']:.4g}, mean {feature['mean']:.4g} ± {feature['std']:.3g}"
        if feature["indicator"]:
            text += ", missing indicator"
        parts.append(text if len(column["features"]) == 1 else f"{feature['name'].split('.')[-1]}: {text}")
    return "; ".join(parts)


def detail(column: dict) -> str:
    """One line on what was inferred and fitted for ``column``."""
    kind = column["kind"]
    if kind == "categorical":
        text = f"{len(column['vocabulary'])} categories"
        if column["capped"]:
            text += f" (+{column['capped']} rare ones as unknown)"
        if column["merged"]:
            text += f", {len(column['merged'])} merged by case/spaces"
        return text
    if kind == "boolean":
        return f"yes/no as 1/0; {_numbers(column)}"
    if kind == "date":
        return f"date ({column['format']}) as {', '.join(column['parts'])}"
    return _numbers(column)


def column_rows(schema: dict, kept: list[Column], cells: dict[str, list[Any]], unreadable: dict[str, int]) -> list:
    """Per kept column: kind, missing and distinct counts (all labelled rows), what was fitted."""
    overridden = {c.name for c in kept if c.overridden}
    rows = []
    for column in schema["columns"]:
        column_cells = cells[column["name"]]
        missing = sum(values.is_missing(c) for c in column_cells)
        rows.append(
            {
                "name": column["name"],
                "kind": column["kind"],
                "missing": missing,
                "unreadable": unreadable.get(column["name"], 0),
                "distinct": len({values.category_key(c) for c in column_cells if not values.is_missing(c)}),
                "required": column["required"],
                "overridden": column["name"] in overridden,
                "inferred": detail(column),
            }
        )
    return rows


def warnings(schema: dict, unreadable: dict[str, int]) -> list[str]:
    """Lines about values that were changed on the way in (merged, capped, unreadable)."""
    lines = []
    for column in schema["columns"]:
        name = column["name"]
        if unreadable.get(name):
            lines.append(f"column {name!r}: {unreadable[name]} unreadable value(s) treated as missing")
        for key, spellings in list(column.get("merged", {}).items())[:EXAMPLES]:
            shown = ", ".join(repr(s) for s in spellings[:EXAMPLES])
            lines.append(f"column {name!r}: {shown} merged into one category {key!r}")
        if column.get("capped"):
            lines.append(
                f"column {name!r}: {column['capped']} rare categories beyond data.max_categories "
                f"(or under data.min_category_count) are encoded as unknown"
            )
    return lines


def columns_table(manifest: dict) -> Any:
    """A rich table: every column, its inferred kind and statistics; dropped columns with their reason."""
    from rich.table import Table

    table = Table(title=f"Columns of {manifest['source']} (target: {manifest['target']})")
    for name in ("column", "kind", "missing", "distinct", "inferred / fitted on train"):
        table.add_column(name, justify="right" if name in ("missing", "distinct") else "left")
    for row in manifest["columns"]:
        kind = row["kind"] + (" (config)" if row["overridden"] else "")
        missing = str(row["missing"]) + (f" +{row['unreadable']} unreadable" if row["unreadable"] else "")
        table.add_row(row["name"], kind, missing, str(row["distinct"]), row["inferred"])
    for dropped in manifest["dropped_columns"]:
        table.add_row(dropped["column"], "[dim]dropped[/]", "", "", dropped["reason"])
    skipped = ", ".join(f"{n} {reason}" for reason, n in manifest["skipped_rows"].items())
    splits = ", ".join(f"{name} {n}" for name, n in manifest["splits"].items())
    table.caption = f"rows: {splits}" + (f"; skipped: {skipped}" if skipped else "")
    return table


def summary(manifest: dict) -> dict[str, Any]:
    """The preprocess --json keys of a table dataset."""
    payload = {
        "task": manifest["task"],
        "target": manifest["target"],
        "split_sizes": manifest["splits"],
        "columns": {row["name"]: row["kind"] for row in manifest["columns"]},
        "dropped_columns": manifest["dropped_columns"],
        "skipped_rows": manifest["skipped_rows"],
        "warnings": manifest.get("warnings", []),
    }
    if "classes" in manifest:
        payload["classes"] = manifest["classes"]
    return payload
