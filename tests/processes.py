"""`aiaas` as a real subprocess: killed with SIGKILL at a chosen moment, and the workspace checked afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

AIAAS = str(Path(sys.executable).with_name("aiaas"))
TESTS = str(Path(__file__).resolve().parent)


def env_for(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "AIAAS_HOME": str(home), "BENTOML_HOME": str(home / "bentoml"), "PYTHONPATH": TESTS,
            "TMPDIR": str(system_tmp(home)), **extra}  # fmt: skip


def system_tmp(home: Path) -> Path:
    """The system's temporary folder for the commands run on ``home``: a killed command's litter there shows."""
    path = home.parent / f"{home.name}-system-tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Outcome:
    code: int
    stdout: str
    lines: list[tuple[float, str]] = field(default_factory=list)  # stderr lines with the time each arrived
    killed_at: float | None = None
    seconds: float = 0.0  # from start to exit

    @property
    def stderr(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def json(self) -> dict:
        return json.loads(self.stdout)


def run(args: list[str], home: Path, kill_when: Callable[[list[str], float], bool] | None = None,
        timeout: float = 600, **popen) -> Outcome:  # fmt: skip
    """Run ``aiaas ARGS``; with ``kill_when(stderr_lines, seconds_since_start)``, SIGKILL it once that is true."""
    started = time.monotonic()
    proc = subprocess.Popen([AIAAS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env_for(home), start_new_session=True, **popen)  # fmt: skip
    outcome = Outcome(code=0, stdout="")
    readers = [
        threading.Thread(target=lambda: outcome.lines.extend((time.time(), ln.rstrip()) for ln in proc.stderr)),
        threading.Thread(target=lambda: setattr(outcome, "stdout", proc.stdout.read())),
    ]
    for reader in readers:
        reader.start()
    try:
        while proc.poll() is None:
            if time.monotonic() - started > timeout:
                raise AssertionError(f"aiaas {' '.join(args)} ran past {timeout} s:\n{outcome.stderr[-3000:]}")
            if kill_when is not None and kill_when([line for _, line in outcome.lines], time.monotonic() - started):
                proc.kill()  # SIGKILL to the command itself, as `kill -9 PID` does: no clean-up runs
                outcome.killed_at = time.time()
                proc.wait()
                break
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # what the killed command had started (DataLoader workers...)
        proc.wait()
        for reader in readers:
            reader.join()
    outcome.code = proc.returncode
    outcome.seconds = time.monotonic() - started
    return outcome


def after(marker: str, delay: float = 0.0) -> Callable[[list[str], float], bool]:
    """Kill ``delay`` seconds after the first stderr line containing ``marker``."""
    seen: list[float] = []

    def due(lines: list[str], elapsed: float) -> bool:
        if not seen and any(marker in line for line in lines):
            seen.append(elapsed)
        return bool(seen) and elapsed - seen[0] >= delay

    return due


def half_written(home: Path) -> list[str]:
    """Artifacts under their final names that do not read back whole (must be empty after any kill)."""
    import numpy as np
    import onnx
    import torch
    import yaml

    bad: list[str] = []

    def check(path: Path, read: Callable[[Path], object]) -> None:
        try:
            read(path)
        except Exception as exc:
            bad.append(f"{path}: {type(exc).__name__}: {str(exc)[:120]}")

    for dataset in (home / "datasets").glob("[!.]*"):
        check(dataset / "manifest.json", lambda p: json.loads(p.read_text())["splits"])
        for array in dataset.glob("*.npy"):
            check(array, lambda p: np.load(p, mmap_mode="r"))
    for run_dir in (home / "runs").glob("[!.]*"):
        for path in run_dir.rglob("[!.]*"):
            if ".tmp-" in str(path.relative_to(run_dir)) or not path.is_file():
                continue
            if path.suffix == ".ckpt":
                check(path, lambda p: torch.load(p, map_location="cpu", weights_only=True)["state_dict"])
            elif path.suffix == ".onnx":
                check(path, lambda p: onnx.checker.check_model(onnx.load(str(p))))
            elif path.suffix == ".json":
                check(path, lambda p: json.loads(p.read_text()))
            elif path.suffix == ".yaml":
                check(path, lambda p: yaml.safe_load(p.read_text()))
    for kind, info in (("bentos", "bento.yaml"), ("models", "model.yaml")):
        for version in (home / "bentoml" / kind).glob("*/*"):
            if version.is_dir() and not version.name.startswith("."):
                check(version / info, lambda p: yaml.safe_load(p.read_text())["name"])
    for archive in home.glob("pushed/*.bento"):
        check(archive, _read_archive)
    return bad


def _read_archive(path: Path) -> None:
    with tarfile.open(path) as archive:
        archive.getnames()


def temp_litter(home: Path) -> list[str]:
    """Whole models and Bentos that libraries write to the system's temporary folder before copying them (MLflow's
    log_model, BentoML's export), left there by a killed command."""
    found = [*system_tmp(home).glob("bentoml-export-*"), *system_tmp(home).glob("*/*/MLmodel")]
    return sorted(str(p.relative_to(system_tmp(home))) for p in found)


def litter(home: Path) -> list[str]:
    """Temporary names left in the workspace."""
    return sorted(str(p.relative_to(home)) for p in home.rglob("*.tmp-*"))


def torch_loaded(pid: int) -> list[int]:
    """Processes of a server (itself and its workers) that mapped libtorch: a served model must not need it."""
    import psutil

    found = []
    for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            if any("libtorch" in m.path for m in proc.memory_maps()):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found
