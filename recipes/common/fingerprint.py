"""Cache keys for preprocessed datasets: what the input files are (names, sizes, modification times) and which
settings built them, so an unchanged input is not decoded again and any change rebuilds."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def visible_files(root: Path, pattern: str = "*") -> list[Path]:
    """Files under ``root`` matching ``pattern``, sorted, none inside hidden folders or hidden themselves."""
    return sorted(
        p for p in root.rglob(pattern) if p.is_file() and not any(s.startswith(".") for s in p.relative_to(root).parts)
    )


def files_digest(path: Path | None, pattern: str = "*", none: str = "builtin") -> str:
    """The input file, or every visible file under the folder: names (relative to it), sizes, modification times.
    ``none`` stands for no path (built-in data)."""
    if path is None:
        return none
    files = visible_files(path, pattern) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        try:
            stat = file.stat()
        except OSError:  # gone since the listing, or unreadable: the reader reports it
            continue
        name = file.relative_to(path) if path.is_dir() else file
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def data_settings(data_cfg: Any, training_only: Iterable[str]) -> dict:
    """The `data` group as plain values, without the keys that only training reads (one dataset serves them all)."""
    from omegaconf import OmegaConf

    settings = OmegaConf.to_container(data_cfg, resolve=True)
    for key in training_only:
        settings.pop(key, None)
    return settings


def digest(blob: dict) -> str:
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()
