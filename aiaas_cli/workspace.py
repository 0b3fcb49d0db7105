"""Where aiaas keeps things ($AIAAS_HOME, default ./.aiaas) and how it writes them safely.

Everything is written under a temporary sibling name (``.NAME.tmp-HOST-PID-XXXXXXXX``) and renamed into place, so
a process killed mid-write never leaves a half-written artifact under its final name. The temporary name says
which process made it: ``sweep_stale`` removes the ones whose process is gone (a killed run's litter) and never
those of a command still running beside this one.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiaas_cli.errors import UserError

_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)  # a full disk, a file-size limit, a quota
_LEGACY_AGE_S = 3600  # temp names without a process (older versions): stale after an hour


def home() -> Path:
    return Path(os.environ.get("AIAAS_HOME", ".aiaas")).resolve()


def datasets_dir() -> Path:
    return home() / "datasets"


def run_dir(run_id: str) -> Path:
    """Local files of one MLflow run (checkpoints, reports) that stages hand to each other."""
    return home() / "runs" / run_id


def builtin_dir() -> Path:
    return home() / "builtin"


def lock(name: str) -> Any:
    """A lock shared by every aiaas process on this home (jobs started together): ``with workspace.lock("x"):``."""
    from filelock import FileLock

    folder = home() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(folder / f"{name}.lock")


def _process_tag() -> str:
    return f"{socket.gethostname().replace('-', '_')}-{os.getpid()}"


def _temp_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{_process_tag()}-{uuid.uuid4().hex[:8]}")


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (another user's too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(path: Path) -> bool:
    """A temp name of a process that is gone (on this host), or an old one that names no process."""
    parts = path.name.rsplit(".tmp-", 1)[-1].split("-")
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0] == socket.gethostname().replace("-", "_") and not alive(int(parts[1]))
    try:
        return time.time() - path.lstat().st_mtime > _LEGACY_AGE_S
    except FileNotFoundError:
        return False


def sweep_stale(folder: Path, recursive: bool = True) -> list[Path]:
    """Remove what killed processes left half-written under ``folder``; the removed paths."""
    if not folder.is_dir():
        return []
    found = folder.rglob(".*.tmp-*") if recursive else folder.glob(".*.tmp-*")
    removed = [path for path in list(found) if _is_stale(path)]
    for path in removed:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return removed


def sweep_workspace() -> None:
    """Remove what killed commands left half-written anywhere in the workspace (cheap: a few directory scans)."""
    sweep_stale(datasets_dir(), recursive=False)
    sweep_stale(home() / "runs")
    sweep_stale(home() / "tmp", recursive=False)


@contextmanager
def temp_dir(folder: Path) -> Iterator[Path]:
    """A temporary folder inside ``folder``, removed on exit (and by `sweep_stale` if this process is killed)."""
    path = _temp_sibling(folder / "aiaas")
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def scratch_dir() -> Path:
    """This command's scratch folder (downloads): removed when it exits, or by a later command if it was killed."""
    root = home() / "tmp"
    sweep_stale(root, recursive=False)
    path = root / f".scratch.tmp-{_process_tag()}-0"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def library_temp_in_scratch() -> Iterator[Path]:
    """Within the block, libraries' temporary files (BentoML writes a whole archive before it copies it) go to this
    command's scratch folder, so a killed command leaves none in the system's temporary folder."""
    import tempfile

    previous, tempfile.tempdir = tempfile.tempdir, str(scratch_dir())
    try:
        yield Path(tempfile.tempdir)
    finally:
        tempfile.tempdir = previous


def remove_scratch() -> None:
    shutil.rmtree(home() / "tmp" / f".scratch.tmp-{_process_tag()}-0", ignore_errors=True)


def disk_full(exc: OSError, target: Path) -> UserError | None:
    """The one-line error for a write that ran out of room, or None when ``exc`` is another OS error."""
    if exc.errno in _FULL:
        why = os.strerror(exc.errno)
    elif exc.errno is None and re.fullmatch(r"\d+ requested and \d+ written", str(exc)):
        why = "the disk is full or a file-size limit was reached"  # numpy's short write carries no errno
    else:
        return None
    kept = f"the previous {target.name} is unchanged" if target.exists() else "nothing was written under that name"
    return UserError(f"cannot write {target}: {why} ({kept})", "free some disk space and run again")


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
    except OSError as exc:
        full = disk_full(exc, target)
        if full is None:
            raise
        raise full from None
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
    except OSError as exc:
        full = disk_full(exc, target)
        if full is None:
            raise
        raise full from None
    finally:
        if temp.exists():
            temp.unlink()


def write_json(path: Path, payload: Any) -> None:
    with atomic_file(path) as temp:
        temp.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
