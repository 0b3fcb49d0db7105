"""Lines of a text file as the text recipes read them (torch-free: the services ship it): newlines only, and JSONL
records with where each one is, a line that is not JSON set aside with its reason."""

from __future__ import annotations

import json
from collections.abc import Iterator


def lines(text: str) -> list[str]:
    """Split on newlines only: str.splitlines() also breaks on U+2028 and U+0085, which JSON strings may hold."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def json_records(text: str, name: str, skipped: list[dict]) -> Iterator[tuple[str, object]]:
    """("name:line", decoded JSON) per non-blank line of a JSONL text; a line that is not JSON goes to ``skipped``
    as {"file": "name:line", "reason": ...} instead."""
    for number, line in enumerate(lines(text), start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            skipped.append({"file": where, "reason": f"not JSON ({exc.msg})"})
            continue
        yield where, record
