"""preprocess for tables: read, pick the target, split, infer and fit the columns on train, write arrays.

Dataset dir: ``{split}_numeric.npy`` (float32, NaN where missing), ``{split}_categorical.npy`` (int64),
``{split}_y.npy``, ``schema.json`` (the fitted transforms), ``test_records.jsonl`` (raw held-out rows, as a
client would send them) and the manifest returned by `build`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli import console
from aiaas_recipes.tabular import fit, infer, overview, read, target, values
from aiaas_recipes.tabular.encode import Encoder, numbers

SCHEMA_FILE, RECORDS_FILE = "schema.json", "test_records.jsonl"
SAMPLE_RECORDS = 64


def overrides(data_cfg: Any) -> dict[str, str]:
    raw = data_cfg.get("column_types") or {}
    return {str(name): str(kind) for name, kind in dict(raw).items()}


def build(task: str, data_cfg: Any, out_dir: Path) -> dict[str, Any]:
    """Write the dataset dir for ``task`` and return its manifest."""
    table = read.read(data_cfg)
    goal = target.read_target(task, table, data_cfg.get("target"))
    cells = {name: [column[i] for i in goal.rows] for name, column in table.columns.items() if name != goal.name}
    where = [table.where[i] for i in goal.rows]
    splits = target.split(task, goal.y, data_cfg.split)
    kept, dropped = infer.infer(cells, overrides(data_cfg))
    schema = fit.fit(kept, cells, splits["train"], data_cfg)
    schema["dropped"] = dropped
    encoder = Encoder(schema)
    numeric, categorical, unreadable = encoder.encode_columns({c.name: cells[c.name] for c in kept})
    for name, idx in splits.items():
        np.save(out_dir / f"{name}_numeric.npy", numeric[idx])
        np.save(out_dir / f"{name}_categorical.npy", categorical[idx])
        np.save(out_dir / f"{name}_y.npy", goal.y[idx])
    (out_dir / SCHEMA_FILE).write_text(json.dumps(schema, indent=1), encoding="utf-8")
    write_records(out_dir / RECORDS_FILE, schema, cells, where, splits["test"])
    columns = overview.column_rows(schema, kept, cells, unreadable)
    manifest = _manifest(task, table, goal, splits, schema, columns)
    manifest["warnings"] = overview.warnings(schema, unreadable)
    console.show(overview.columns_table(manifest))
    return manifest


def _manifest(task, table, goal, splits, schema, columns) -> dict[str, Any]:
    skipped = table.skipped + goal.skipped
    manifest = {
        "task": task,
        "source": table.source,
        "read": table.info,
        "target": goal.name,
        "rows": table.rows + len(table.skipped),
        "splits": {name: int(len(idx)) for name, idx in splits.items()},
        "columns": columns,
        "dropped_columns": schema["dropped"],
        "skipped": skipped,
        "skipped_what": "row(s) (missing or unreadable target, broken line)",
        "skipped_rows": dict(Counter(_reason_kind(s["reason"]) for s in skipped)),
        "inputs": {"numeric": sum(len(c.get("features", [])) for c in schema["columns"]),
                   "categorical": sum(c["kind"] == "categorical" for c in schema["columns"])},
    }  # fmt: skip
    if task == target.CLASSIFICATION:
        manifest["classes"] = goal.classes
        manifest["counts"] = {name: target.class_counts(goal.y[idx], goal.classes) for name, idx in splits.items()}
    else:
        train_y = goal.y[splits["train"]].astype(np.float64)
        manifest["target_stats"] = {"mean": float(train_y.mean()), "std": float(train_y.std() or 1.0),
                                    "min": float(train_y.min()), "max": float(train_y.max())}  # fmt: skip
    return manifest


def _reason_kind(reason: str) -> str:
    """Group "7 fields, the header has 5" and the like under one name for the per-reason counts."""
    return "broken line (wrong number of fields)" if "fields, the header has" in reason else reason


def json_cell(column: dict, cell: Any) -> Any:
    """A cell as a JSON client sends it: a number, a bool, text, or null; ValueError if the model cannot read it."""
    if values.is_missing(cell):
        return None
    if column["kind"] != "categorical":
        numbers(column, cell)
    if column["kind"] == "numeric":
        return values.to_number(cell)
    if column["kind"] == "boolean":
        return bool(values.to_bool(cell))
    if column["kind"] == "date" and hasattr(cell, "isoformat"):
        return cell.isoformat()
    return values.label_text(cell)


def write_records(path: Path, schema: dict, cells: dict, where: list[str], rows: np.ndarray) -> None:
    """Up to SAMPLE_RECORDS held-out rows that read cleanly (for `sample_inputs` and HTTP checks)."""
    lines = []
    for i in rows.tolist():
        try:
            record = {c["name"]: json_cell(c, cells[c["name"]][i]) for c in schema["columns"]}
        except (ValueError, TypeError):
            continue
        lines.append(json.dumps({"where": where[i], "record": record}))
        if len(lines) == SAMPLE_RECORDS:
            break
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def read_schema(dataset_dir: Path) -> dict[str, Any]:
    return json.loads((Path(dataset_dir) / SCHEMA_FILE).read_text(encoding="utf-8"))


def read_records(dataset_dir: Path) -> list[dict[str, Any]]:
    path = Path(dataset_dir) / RECORDS_FILE
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(numeric, categorical, y) arrays of ``split``, memory-mapped."""
    from aiaas_recipes.common.data.rows import open_split

    parts = open_split(dataset_dir, split, ("numeric", "categorical", "y"))
    return parts["numeric"], parts["categorical"], parts["y"]
