"""Cache keys for preprocessed datasets: what the input files are (names, sizes, modification times) and which
settings built them, so an unchanged input is not decoded again and any change rebuilds."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def visible_files(root: Path, pattern: str = "*") -> list[Path]:
    """Files under ``root`` matching ``pattern``, sorted, none inside hidden folders or hidden themselves."""
    return sorted(
        p for p in root.rglob(pattern) if p.is_file() and not any(s.startswith(".") for s in p.relative_to(root).parts)
    )


def all_files(root: Path, pattern: str = "*") -> list[Path]:
    """Every file under ``root`` matching ``pattern``, hidden ones too (for readers that read those as well)."""
    return sorted(p for p in root.rglob(pattern) if p.is_file())


def listing_digest(entries: Iterable[tuple[Path, str]]) -> str:
    """Each entry's text (its name and whatever else the reader takes from the listing: label, split...) with its
    file's size and modification time; -1 for both where the file is gone or unreadable (the reader reports it)."""
    digest = hashlib.sha256()
    for path, text in entries:
        try:
            stat = path.stat()
            size, mtime = stat.st_size, stat.st_mtime_ns
        except OSError:
            size = mtime = -1
        digest.update(f"{text}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()


def files_digest(
    path: Path | None,
    pattern: str = "*",
    none: str = "builtin",
    listing: Callable[[Path, str], list[Path]] = visible_files,
) -> str:
    """The input file (named in full), or the files ``listing`` finds under the folder (named relative to it, so a
    moved folder keeps its key); ``none`` stands for no path (built-in data)."""
    if path is None:
        return none
    if not path.is_dir():
        return listing_digest([(path, str(path))])
    return listing_digest((file, str(file.relative_to(path))) for file in listing(path, pattern))


def input_table(data_cfg: Any) -> Path | None:
    """The user's table that ``data.path`` names (None: built-in data), which must be a file."""
    if not data_cfg.path:
        return None
    path = Path(str(data_cfg.path)).expanduser().resolve()
    if not path.is_file():
        from aiaas_cli.errors import ConfigError

        raise ConfigError(f"data.path={path} is not a file", "point it at a .csv, .tsv or .parquet table")
    return path


def data_settings(data_cfg: Any, training_only: Iterable[str]) -> dict:
    """The `data` group as plain values, without the keys that only training reads (one dataset serves them all)."""
    from omegaconf import OmegaConf

    settings = OmegaConf.to_container(data_cfg, resolve=True)
    for key in training_only:
        settings.pop(key, None)
    return settings


def digest(blob: dict) -> str:
    """The key of a JSON-able description of the inputs and settings (key order does not matter)."""
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()
