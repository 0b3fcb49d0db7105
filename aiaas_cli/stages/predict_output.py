"""Where `aiaas predict` writes its rows: JSON lines on stdout, or a .jsonl/.csv file written atomically, or appended
to in place when resuming (a kill leaves every flushed row there)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from aiaas_cli import console, workspace
from aiaas_cli.errors import ConfigError
from aiaas_cli.stages import predict_inputs


@contextmanager
def writer(output: str | None, keep: Any = None, resume: predict_inputs.Resume | None = None) -> Iterator[Any]:
    """``(write(row), flush())``: JSON lines on stdout (or ``keep`` them), or a .jsonl/.csv file written atomically;
    with ``resume``, appended to in place, so that a kill leaves every flushed row there."""
    if output is None:
        yield keep or console.emit_json, lambda: None
        return
    target = Path(output).expanduser()
    if target.suffix.lower() not in (".jsonl", ".csv"):
        raise ConfigError(f"--output must end in .jsonl or .csv, got '{target.name}'")
    with _opened(target, resume is not None) as handle:
        if target.suffix.lower() == ".jsonl":
            yield lambda row: handle.write(json.dumps(row) + "\n"), handle.flush
            return
        table = _CsvTable(handle, resume.header if resume else None)
        yield table.write, handle.flush
        table.close()


@contextmanager
def _opened(target: Path, append: bool) -> Iterator[IO[str]]:
    if append:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", newline="") as handle:
            yield handle
        return
    with workspace.atomic_file(target) as temp, temp.open("w", newline="") as handle:
        yield handle


class _CsvTable:
    """CSV columns from the first row that is not an error (error rows wait for it); fields a later row adds
    go into "extras" as JSON."""

    def __init__(self, handle: IO[str], header: list[str] | None = None):
        self.handle = handle
        self.writer = csv.DictWriter(handle, fieldnames=header) if header else None  # resuming: columns known
        self.waiting: list[dict] = []

    def write(self, row: dict) -> None:
        if self.writer is None and "error" in row:
            self.waiting.append(row)
            return
        if self.writer is None:
            self._start([*row, *(f for f in ("error", "extras") if f not in row)])
        known = {k: _cell(v) for k, v in row.items() if k in self.writer.fieldnames}
        extras = {k: v for k, v in row.items() if k not in self.writer.fieldnames}
        self.writer.writerow({**known, **({"extras": json.dumps(extras)} if extras else {})})

    def _start(self, fields: list[str]) -> None:
        self.writer = csv.DictWriter(self.handle, fieldnames=fields)
        self.writer.writeheader()
        waiting, self.waiting = self.waiting, []
        for row in waiting:
            self.write(row)

    def close(self) -> None:
        if self.writer is None:
            self._start(["input", "error"])


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value
