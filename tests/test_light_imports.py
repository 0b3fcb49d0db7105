"""`aiaas --help` and `aiaas recipes` stay light: no torch, MLflow, BentoML, Lightning or ONNX Runtime at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

AIAAS = str(Path(sys.executable).with_name("aiaas"))
HEAVY = {"torch", "mlflow", "bentoml", "pytorch_lightning", "lightning_fabric", "onnxruntime"}
COMMANDS = {
    "import aiaas_cli.cli": [sys.executable, "-c", "import aiaas_cli.cli"],
    "aiaas --help": [AIAAS, "--help"],
    "aiaas recipes": [AIAAS, "recipes"],
    "aiaas train --help": [AIAAS, "train", "--help"],
}


def imported_packages(command: list[str]) -> set[str]:
    """Top-level packages a fresh interpreter imports to run ``command`` (from Python's -X importtime report)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in lines}


@pytest.mark.parametrize("name", COMMANDS)
def test_cli_imports_nothing_heavy(name):
    loaded = imported_packages(COMMANDS[name])
    assert "aiaas_cli" in loaded  # the report was read, so an empty intersection means something
    assert not loaded & HEAVY, f"{name} imported {sorted(loaded & HEAVY)}"
