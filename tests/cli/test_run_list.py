"""`aiaas runs`: a run whose process was killed (SIGKILL runs no clean-up) shows as KILLED, not RUNNING."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from aiaas_cli import owner, tags
from aiaas_cli.tracking.journal import Journal


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_owner_stamps_tell_dead_from_alive():
    here = socket.gethostname()
    assert owner.is_dead(owner.stamp()) is False
    assert owner.is_dead(f"{here} {dead_pid()} 1700000000.00") is True
    assert owner.is_dead(f"{here} {os.getpid()} 1.00") is True  # the pid was reused by a later process
    assert owner.is_dead(f"elsewhere {dead_pid()} 1.00") is None  # another host: cannot tell from here
    assert owner.is_dead(None) is None


def test_runs_shows_killed_unsynced_and_running(cli, fresh_home):
    """Issue 13 #6 (the real SIGKILL version is tests/test_workspace.py::test_kill_train_at_several_points)."""
    from mlflow.tracking import MlflowClient

    cli("runs")  # creates the store
    client = MlflowClient(f"sqlite:///{fresh_home / 'mlflow.db'}")
    experiment = client.create_experiment("image-cls", artifact_location=(fresh_home / "artifacts").as_uri())
    here = socket.gethostname()
    stamps = {
        "killed": f"{here} {dead_pid()} 1700000000.00",
        "running": owner.stamp(),
        "elsewhere": f"another-host {dead_pid()} 1700000000.00",
        "unsynced": f"{here} {dead_pid()} 1700000000.00",
    }
    ids = {name: client.create_run(experiment, tags={tags.OWNER: stamp}).info.run_id for name, stamp in stamps.items()}
    Journal(ids["unsynced"]).append({"op": "end", "status": "FINISHED", "end_time": 0})
    statuses = {row["run_id"]: row["status"] for row in cli.json("runs")["runs"]}
    assert statuses == {
        ids["killed"]: "KILLED",
        ids["running"]: "RUNNING",
        ids["elsewhere"]: "RUNNING",
        ids["unsynced"]: "UNSYNCED",
    }
    assert "KILLED" in cli("runs").stdout


def _rendered(found: list[dict], width: int, wide: bool) -> list[str]:
    from rich.console import Console

    from aiaas_cli.cli.run_list import table

    console = Console(width=width, record=True, color_system=None)
    console.print(table(found, wide=wide))
    return console.export_text().splitlines()


def test_runs_fit_an_80_column_terminal_one_line_a_run_and_wide_shows_everything():
    found = [
        {"run_id": f"{i:032x}", "recipe": "tabular-cls", "status": "FINISHED", "started": "2026-12-07T15:36:37+00:00",
         "stages": ["evaluate", "pipeline", "train"],
         "metrics": {"test_accuracy": 0.99123, "test_log_loss": 0.1, "test_macro_f1": 0.9, "val_loss": 0.2}}
        for i in range(3)
    ]  # fmt: skip
    lines = _rendered(found, 80, wide=False)
    assert all(len(line) <= 80 for line in lines)
    for row in found:
        [line] = [line for line in lines if row["run_id"] in line]  # the whole id, once: one line per run
        assert "tabular-cls" in line and "FINISHED" in line and "12-07 15:36" in line and "accuracy" in line
    wide = "\n".join(_rendered(found, 160, wide=True))
    assert "evaluate,pipeline,train" in wide and "macro_f1" in wide and "0.9000" in wide
