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
