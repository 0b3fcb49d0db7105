"""Where aiaas keeps things ($AIAAS_HOME, default ./.aiaas) and how it writes them safely."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def home() -> Path:
    return Path(os.environ.get("AIAAS_HOME", ".aiaas")).resolve()


def datasets_dir() -> Path:
    return home() / "datasets"


def run_dir(run_id: str) -> Path:
    """Local files of one MLflow run (checkpoints, reports) that stages hand to each other."""
    return home() / "runs" / run_id


def builtin_dir() -> Path:
    return home() / "builtin"


def _temp_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``target`` only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_sibling(target)
    temp.mkdir()
    try:
        yield temp
        if target.exists():
            shutil.rmtree(target)
        temp.rename(target)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path that replaces ``target`` only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_sibling(target)
    try:
        yield temp
        os.replace(temp, target)
    finally:
        if temp.exists():
            temp.unlink()


def write_json(path: Path, payload: Any) -> None:
    with atomic_file(path) as temp:
        temp.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
