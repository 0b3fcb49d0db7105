"""One served text, checked the same way by every text recipe: torch-free (it ships in the Bento)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiaas_cli.serving.runtime import BadInput, read_files


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
