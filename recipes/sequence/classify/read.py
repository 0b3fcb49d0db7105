"""Read labelled sequences: a folder of per-sequence CSV/NPY files under class folders, or one long table with a
sequence-id, a time and a label column. Every reader returns `Sequences`: the usable ones, raw (NaN kept), and
the ones it skipped with where they are and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError, UserError
from aiaas_recipes.sequence import tables
from aiaas_recipes.sequence.classify.serving import ID_NAMES

ID_GUESSES = ID_NAMES  # guessed id columns, as `predict` splits a long table
LABEL_GUESSES = ("label", "class", "target", "y", "activity", "category")
FILE_SUFFIXES = (".csv", ".tsv", ".parquet", ".npy")


@dataclass
class Sequences:
    values: list[np.ndarray] = field(default_factory=list)  # (steps, features) float64, NaN where missing
    labels: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # the file, or "table.csv:id=7"
    features: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"file", "reason"}
    warnings: list[str] = field(default_factory=list)

    def add(self, values: np.ndarray, label: str, where: str) -> None:
        if len(values) == 0:
            self.skipped.append({"file": where, "reason": "no steps"})
            return
        self.values.append(values)
        self.labels.append(label)
        self.where.append(where)


def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") or part == "__MACOSX" for part in path.relative_to(root).parts)


def _read_npy(path: Path) -> tuple[np.ndarray, list[str] | None]:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise UserError(f"not a readable .npy file ({str(exc).splitlines()[0]})") from None
    if array.ndim not in (1, 2) or not np.issubdtype(array.dtype, np.number):
        raise UserError(f"a {array.ndim}-D {array.dtype} array; expected (steps, features) numbers")
    return (array.reshape(-1, 1) if array.ndim == 1 else array).astype(np.float64), None


def _read_csv(path: Path, time_column: str | None) -> tuple[np.ndarray, list[str], int]:
    frame = tables.read_table(path)
    time = tables.pick_column(list(map(str, frame.columns)), time_column, tables.TIME_GUESSES, "time_column")
    if time:
        frame, _ = tables.sort_by_time(frame, time)
    numbers, _, coerced = tables.numeric_frame(frame, {time} if time else set())
    if numbers.shape[1] == 0:
        raise UserError("no numeric columns")
    return numbers.to_numpy(np.float64), list(numbers.columns), coerced


def read_folder(root: Path, time_column: str | None) -> Sequences:
    """One sequence per file, its class the name of the folder it is in."""
    found = Sequences()
    classes = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p, root))
    if not classes:
        raise ConfigError(f"{root} has no class folders", "put each class's sequence files in a folder of its own")
    coerced = 0
    for folder in classes:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and _visible(p, root)):
            where = str(path.relative_to(root))
            if path.suffix.lower() not in FILE_SUFFIXES:
                found.skipped.append({"file": where, "reason": f"not a {'/'.join(FILE_SUFFIXES)} file"})
                continue
            try:
                if path.suffix.lower() == ".npy":
                    values, names = _read_npy(path)
                else:
                    values, names, bad = _read_csv(path, time_column)
                    coerced += bad
                values = _check_features(found, values, names)
            except UserError as exc:
                found.skipped.append({"file": where, "reason": exc.message})
                continue
            found.add(values, folder.name, where)
    if coerced:
        found.warnings.append(f"{coerced} cell(s) that are not numbers were treated as missing")
    return found


def _check_features(found: Sequences, values: np.ndarray, names: list[str] | None) -> np.ndarray:
    """The first sequence fixes the features; a later one must have as many (and the same names, for tables, in
    any order: its columns are put in the first one's)."""
    if not found.features:
        found.features = names or [f"f{i}" for i in range(values.shape[1])]
        return values
    if values.shape[1] != len(found.features):
        raise UserError(f"{values.shape[1]} feature(s), the first sequence has {len(found.features)}")
    if names is not None and names != found.features and set(names) != set(found.features):
        raise UserError(f"columns {', '.join(names)} differ from {', '.join(found.features)}")
    if names is not None and names != found.features:
        return values[:, [names.index(n) for n in found.features]]
    return values


def read_long_table(path: Path, data_cfg: Any) -> Sequences:
    """Rows of one table grouped into sequences by the id column, each in time order, one label per sequence."""
    frame = tables.read_table(path, data_cfg.get("format"))
    columns = list(map(str, frame.columns))
    frame.columns = columns
    ident = _required(columns, data_cfg.id_column, ID_GUESSES, "id_column")
    label = _required(columns, data_cfg.label_column, LABEL_GUESSES, "label_column")
    time = tables.pick_column(columns, data_cfg.time_column, tables.TIME_GUESSES, "time_column")
    found = Sequences()
    exclude = {ident, label, *([time] if time else [])}
    if data_cfg.feature_columns:
        missing = [c for c in data_cfg.feature_columns if str(c) not in columns]
        if missing:
            raise ConfigError(f"data.feature_columns: {', '.join(map(str, missing))} not in {path.name}")
        exclude |= set(columns) - {str(c) for c in data_cfg.feature_columns}
    numbers, ignored, coerced = tables.numeric_frame(frame, exclude)
    if numbers.shape[1] == 0:
        raise ConfigError(f"{path.name} has no numeric feature columns", "name them with data.feature_columns=[...]")
    found.features = list(numbers.columns)
    if ignored:
        found.warnings.append(f"ignored non-numeric column(s): {', '.join(ignored)}")
    if coerced:
        found.warnings.append(f"{coerced} cell(s) that are not numbers were treated as missing")
    no_id = frame[ident].isna()
    found.skipped += [{"file": f"{path.name}:row {i + 2}", "reason": f"no {ident}"} for i in np.flatnonzero(no_id)]
    keep = ~no_id.to_numpy()
    _group(found, frame[keep], numbers[keep], ident, label, time, path.name)
    return found


def _required(columns: list[str], given: str | None, guesses: tuple[str, ...], key: str) -> str:
    column = tables.pick_column(columns, given, guesses, key)
    if column is None:
        raise ConfigError(f"no {key.removesuffix('_column')} column found", f"name it with data.{key}=")
    return column


def _group(found: Sequences, frame: Any, numbers: Any, ident: str, label: str, time: str | None, name: str) -> None:
    repeated = 0
    for key, rows in frame.groupby(ident, sort=False):
        where = f"{name}:{ident}={key}"
        labels = rows[label].dropna().astype(str).str.strip().unique()
        if len(labels) != 1:
            reason = "no label" if len(labels) == 0 else f"the label changes within it ({', '.join(labels[:3])})"
            found.skipped.append({"file": where, "reason": reason})
            continue
        if time:
            try:
                rows, duplicates = tables.sort_by_time(rows, time)
            except UserError as exc:
                found.skipped.append({"file": where, "reason": exc.message})
                continue
            repeated += duplicates
        found.add(numbers.loc[rows.index].to_numpy(np.float64), labels[0], where)
    if repeated:
        found.warnings.append(f"{repeated} row(s) repeat a timestamp of their sequence (kept in file order)")
