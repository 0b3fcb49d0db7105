"""Read a table into columns of raw cells: CSV/TSV (delimiter and encoding sniffed), Parquet, or a bundled
scikit-learn dataset. Nothing is interpreted here; cells stay text (CSV) or Python scalars (Parquet)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiaas_cli.errors import ConfigError, UserError

BUILTINS = ("wine", "breast_cancer", "digits", "diabetes")
SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # latin-1 reads any bytes: the last resort
DELIMITERS = ",;\t|"
SNIFF_BYTES = 64 * 1024


@dataclass
class Table:
    """Column-oriented raw cells; ``where`` names each row for messages ("data.csv:17")."""

    columns: dict[str, list[Any]]
    where: list[str]
    source: str
    info: dict[str, Any] = field(default_factory=dict)  # format, delimiter, encoding: what was sniffed
    skipped: list[dict] = field(default_factory=list)  # rows that could not be read at all
    target: str | None = None  # known for built-in datasets

    @property
    def rows(self) -> int:
        return len(self.where)


def read(data_cfg: Any) -> Table:
    """The configured table: ``data.path`` if set, else the built-in ``data.builtin``."""
    if data_cfg.path:
        path = Path(str(data_cfg.path)).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"data.path={path} is not a file", "point it at a .csv, .tsv or .parquet table")
        return read_file(path, data_cfg.get("format"), data_cfg.get("encoding"), data_cfg.get("delimiter"))
    return builtin(str(data_cfg.builtin))


def file_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in ("csv", "tsv", "parquet"):
            raise ConfigError(f"data.format={fmt} is not one of csv, tsv, parquet")
        return fmt
    if path.suffix.lower() not in SUFFIX_FORMATS:
        raise ConfigError(f"cannot tell the format of {path.name}", "set data.format=csv, tsv or parquet")
    return SUFFIX_FORMATS[path.suffix.lower()]


def read_file(path: Path, fmt: str | None = None, encoding: str | None = None, delimiter: str | None = None) -> Table:
    fmt = file_format(path, fmt)
    if fmt == "parquet":
        return read_parquet(path)
    data = path.read_bytes()
    text, encoding = decode(data, encoding, path)
    delimiter = delimiter or ("\t" if fmt == "tsv" else sniff_delimiter(text))
    table = read_csv_text(text, delimiter, path.name)
    table.info.update({"format": fmt, "encoding": encoding, "delimiter": delimiter})
    return table


def decode(data: bytes, encoding: str | None, path: Path) -> tuple[str, str]:
    """The text and the encoding that read it: ``encoding`` if given, else the first of ENCODINGS that works."""
    if encoding:
        try:
            return data.decode(encoding).removeprefix("\ufeff"), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise UserError(f"cannot read {path.name} as {encoding}: {exc}", "set data.encoding=") from None
    for candidate in ENCODINGS:
        try:
            return data.decode(candidate), candidate.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")


def sniff_delimiter(text: str) -> str:
    sample = text[:SNIFF_BYTES]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        # one column, or too irregular to tell: the delimiter that splits the header most often
        header = sample.splitlines()[0] if sample.strip() else ""
        return max(DELIMITERS, key=header.count) if any(d in header for d in DELIMITERS) else ","


def unique_names(header: list[str]) -> list[str]:
    """Trimmed column names; blanks and repeats get a suffix, so every column can be addressed."""
    names, seen = [], set()
    for i, raw in enumerate(header):
        name = raw.strip() or f"column_{i + 1}"
        base, n = name, 2
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        names.append(name)
    return names


def read_csv_text(text: str, delimiter: str, name: str) -> Table:
    """Rows with the header's number of fields; others are skipped and listed (line numbers as in an editor)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise UserError(f"{name} is empty or has no header row")
    names = unique_names(header)
    columns: dict[str, list[Any]] = {n: [] for n in names}
    where, skipped = [], []
    start = reader.line_num
    try:
        for row in reader:
            line = f"{name}:{start + 1}"
            start = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if len(row) != len(names):
                skipped.append({"file": line, "reason": f"{len(row)} fields, the header has {len(names)}"})
                continue
            for column, cell in zip(names, row):
                columns[column].append(cell)
            where.append(line)
    except csv.Error as exc:
        raise UserError(f"{name}:{reader.line_num}: cannot parse the table ({exc})") from None
    return Table(columns, where, name, skipped=skipped)


def read_parquet(path: Path) -> Table:
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise UserError(f"cannot read {path.name} as Parquet: {str(exc).splitlines()[0]}") from None
    names = unique_names([str(c) for c in frame.columns])
    columns = {n: frame[c].astype(object).where(frame[c].notna(), None).tolist() for n, c in zip(names, frame)}
    where = [f"{path.name}:row {i + 1}" for i in range(len(frame))]
    return Table(columns, where, path.name, info={"format": "parquet"})


def builtin(name: str) -> Table:
    """One of scikit-learn's bundled datasets (no network): features as floats, the target as its names."""
    from sklearn import datasets

    if name not in BUILTINS:
        raise ConfigError(f"data.builtin={name} is not one of {', '.join(BUILTINS)}")
    bunch = getattr(datasets, f"load_{name}")()
    names = (
        [str(n) for n in bunch.feature_names] if name != "digits" else [f"pixel_{i // 8}_{i % 8}" for i in range(64)]
    )
    columns = {n: bunch.data[:, i].astype(float).tolist() for i, n in enumerate(names)}
    target = "target" if "target" not in columns else "target_"
    if name == "diabetes":
        columns[target] = bunch.target.astype(float).tolist()
    else:
        classes = [str(c) for c in bunch.target_names]
        columns[target] = [classes[int(i)] for i in bunch.target]
    where = [f"{name}:row {i + 1}" for i in range(len(bunch.target))]
    return Table(columns, where, f"builtin:{name}", info={"format": "builtin"}, target=target)
