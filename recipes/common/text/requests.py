"""One served text, checked the same way by every text recipe: torch-free (it ships in the Bento)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiaas_cli.serving.runtime import BadInput, read_files
from aiaas_recipes.common.text.lines import lines


def request_text(payload: Any, max_chars: int) -> str:
    """The request's text; BadInput for bytes that are not UTF-8, a non-string, an empty or an oversized text."""
    if isinstance(payload, (bytes, bytearray)):
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("text is not valid UTF-8") from None
    if not isinstance(payload, str):
        raise BadInput(f"expected a string, got {type(payload).__name__}")
    if not payload.strip():
        raise BadInput("empty text")
    if len(payload) > max_chars:
        raise BadInput(f"text of {len(payload)} characters is above the limit of {max_chars}", status=413)
    return payload


def decoded_files(paths: list[Path]) -> Iterator[tuple[str, str | Exception]]:
    """(name, UTF-8 text without a BOM) per input file; (name, exception) for one that cannot be read or decoded,
    naming the first line that is not UTF-8."""
    for name, data in read_files(paths):
        if isinstance(data, Exception):
            yield name, data
            continue
        try:
            yield name, data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            yield name, BadInput(f"line {line} is not UTF-8")


def text_inputs(paths: list[Path], fields: tuple[str, ...], what: str = "text") -> Iterator[tuple[str, Any]]:
    """(name, text) per input of `aiaas predict`: a row of .csv/.tsv/.jsonl (its first column or key among ``fields``,
    the ``what`` column), else a line of a text file; (name, exception) for a file or row that cannot be used."""
    for name, text in decoded_files(paths):
        if isinstance(text, Exception):
            yield name, text
            continue
        suffix = Path(name).suffix.lower()
        if suffix == ".jsonl":
            yield from (
                (f"{name}:{n}", _json_text(line, fields)) for n, line in enumerate(lines(text), 1) if line.strip()
            )
        elif suffix in (".csv", ".tsv"):
            yield from _table_texts(name, text, suffix, fields, what)
        else:
            yield from ((f"{name}:{n}", line) for n, line in enumerate(lines(text), start=1) if line.strip())


def _table_texts(name: str, text: str, suffix: str, fields: tuple[str, ...], what: str) -> Iterator[tuple[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if suffix == ".tsv" else ",")
    found = {f.lower().strip(): f for f in reader.fieldnames or []}
    column = next((found[f] for f in fields if f in found), None)
    if column is None:
        yield name, BadInput(f"no {what} column (one of {', '.join(fields)})")
        return
    for row in reader:
        where = f"{name}:{reader.line_num}"
        if None in row:  # more fields than the header: an unquoted comma would cut the text short
            yield where, BadInput(f"{len(reader.fieldnames) + len(row[None])} fields, the header has {len(found)}")
        else:
            yield where, row.get(column) or ""


def _json_text(line: str, fields: tuple[str, ...]) -> Any:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return BadInput(f"not JSON ({exc.msg})")
    if isinstance(record, dict):
        return record.get(next((f for f in fields if f in record), fields[0]), "")
    return record  # a bare JSON string is the text itself; anything else fails in decode
