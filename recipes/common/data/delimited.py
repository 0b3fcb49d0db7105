"""Rows of a user's CSV/TSV text, for the recipes' table readers: one bad line is skipped, never the end of the file.

A line whose quoting is broken (`"a quote" that goes on`, with strict quoting) is reported with its line number and
skipped. A stray opening quote would otherwise swallow every line after it into one field: a row that spans several
lines and does not have the header's number of fields is reported at its first line, and the lines after that one
are read again.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Row:
    line: int  # where the row starts, counted from 1 as in an editor
    cells: list[str]
    problem: str | None = None  # why the row cannot be used; then ``cells`` may be empty


class _Lines:
    """The text's lines, as csv.reader takes them, with a position that can be moved back."""

    def __init__(self, text: str):
        self.lines = [line for line in re.split(r"(?<=\n)", text) if line]
        self.pos = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


class Rows:
    """``header`` (None for an empty text), then iterate for the rows after it; blank lines are left out."""

    def __init__(self, text: str, delimiter: str, strict: bool = True):
        self._lines = _Lines(text)
        self._reader = csv.reader(self._lines, delimiter=delimiter, strict=strict)
        self.header: list[str] | None = None
        first = next(iter(self), None)
        if first is not None and first.problem:
            raise csv.Error(f"line {first.line}: {first.problem}")
        self.header = first.cells if first is not None else None

    def __iter__(self) -> Iterator[Row]:
        lines = self._lines
        while lines.pos < len(lines.lines):
            start = lines.pos
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                lines.pos = start + 1  # the reader stopped inside this line: go on from the next one
                yield Row(start + 1, [], f"broken quoting ({exc})")
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if self.header is not None and len(cells) != len(self.header):
                if lines.pos - start > 1:
                    lines.pos = start + 1  # a stray quote ran on into later lines: read them again
                yield Row(start + 1, cells, f"{len(cells)} fields, the header has {len(self.header)}")
                continue
            yield Row(start + 1, cells)
