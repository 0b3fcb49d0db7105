"""A dataset's recordings decoded one by one while preprocessing: the duration limits from the data config, and
every file that cannot be used kept aside with its reason (the preprocess stage reports them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiaas_cli import console
from aiaas_recipes.common.audio.decoding import BadAudio

Loaded = TypeVar("Loaded")


def read_limits(data_cfg) -> dict:
    """``decoding.load``'s duration limits and silence trimming, from the data config."""
    trim = data_cfg.get("trim_db")
    return {
        "min_seconds": float(data_cfg.min_seconds),
        "max_seconds": float(data_cfg.max_seconds),
        "trim_db": None if trim is None else float(trim),
    }


def decode_each(items: Sequence[Any], load: Callable[[Any], Loaded]) -> tuple[list[Loaded | None], list[dict]]:
    """``load(item)`` for every item (its ``path`` names the file), None where the file cannot be read or used, and
    the skipped files with their reasons."""
    loaded, skipped = [], []
    with console.progress("Decoding audio", len(items)) as bar:
        for item in items:
            try:
                loaded.append(load(item))
            except (OSError, BadAudio) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                skipped.append({"file": str(item.path), "reason": reason})
                loaded.append(None)
            bar.advance()
    return loaded, skipped
