"""Tracking against a real `mlflow server` on 127.0.0.1, read back with MlflowClient."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import FAST_TRAIN, MlflowServer

AIAAS = str(Path(sys.executable).with_name("aiaas"))
TESTS = str(Path(__file__).resolve().parent.parent)  # faults.py, for the aiaas subprocesses


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield server.uri
    server.stop()


@pytest.mark.slow
def test_pipeline_logs_everything_to_a_server(cli, mlflow_server, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("AIAAS_HOME", str(tmp_path / "home"))
    out = cli.json("pipeline", "image-cls", f"tracking.uri={mlflow_server}", *FAST_TRAIN)
    client = MlflowClient(tracking_uri=mlflow_server)
    run = client.get_run(out["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["trainer.max_epochs"] == "3"
    assert run.data.metrics["test_accuracy"] == pytest.approx(out["metrics"]["accuracy"])
    assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 3
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"checkpoints", "config", "dataset", "evaluation"} <= artifacts
    evaluation = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert {"evaluation/metrics.json", "evaluation/confusion_matrix.png"} <= evaluation

    # A later stage continues the same run, reading the checkpoint back from the server.
    (Path(out["checkpoint"])).unlink()
    again = cli.json("evaluate", "image-cls", f"run={out['run_id']}", f"tracking.uri={mlflow_server}")
    assert again["run_id"] == out["run_id"]
    assert again["metrics"]["accuracy"] == pytest.approx(out["metrics"]["accuracy"])


def test_runs_lists_recent_runs_with_metrics(cli, trained_run):
    rows = cli.json("runs", "-n", "1000")["runs"]
    row = next(r for r in rows if r["run_id"] == trained_run["run_id"])
    assert row["recipe"] == "image-cls"
    assert row["metrics"]["test_accuracy"] == pytest.approx(trained_run["metrics"]["accuracy"])
    assert {"pipeline", "evaluate"} & set(row["stages"])
    table = cli("runs", "-n", "1000").stdout
    assert trained_run["run_id"] in table


@pytest.fixture()
def colours(tmp_path) -> list[str]:
    """Overrides for a tiny image-cls run whose checkpoint is the default CNN's (3.5 MB, like a real one)."""
    from aiaas_recipes.common.smoke import colour_folders

    root = colour_folders(tmp_path / "colours")
    return [f"data.root={root}", "data.image_size=12", "data.batch_size=8", "trainer.early_stopping.enabled=false"]


def _aiaas(args: list[str], home: Path, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "AIAAS_HOME": str(home), "PYTHONPATH": TESTS}
    return subprocess.run([AIAAS, *args], capture_output=True, text=True, env=env, timeout=timeout)


def _timed_aiaas(args: list[str], home: Path, timeout: float) -> tuple[int, str, list[tuple[float, str]]]:
    """Run aiaas; its stdout, and each stderr line with the time it arrived."""
    env = {**os.environ, "AIAAS_HOME": str(home), "PYTHONPATH": TESTS}
    proc = subprocess.Popen([AIAAS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(target=lambda: lines.extend((time.time(), line.rstrip()) for line in proc.stderr))
    reader.start()
    stdout = proc.stdout.read()
    proc.wait(timeout=timeout)
    reader.join()
    return proc.returncode, stdout, lines


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_server_dying_mid_training_loses_nothing(tmp_path, colours):
    """Issue 13 #5: bounded retries, one line when the server goes, the pipeline finishes locally (evaluate, export,
    package, push), a last line naming what was not recorded, and `aiaas runs sync` uploads it once the server is
    back."""
    from mlflow.tracking import MlflowClient

    server = MlflowServer(tmp_path / "server").start()
    stamp = tmp_path / "killed-at"
    outage = "+trainer.callbacks.outage"
    try:
        args = ["pipeline", "image-cls", *colours, "trainer.max_epochs=3", f"tracking.uri={server.uri}", "--json",
                f"{outage}._target_=faults.KillGroupAtEpoch", f"{outage}.pgid={server.process.pid}",
                f"{outage}.epoch=1", f"{outage}.stamp={stamp}"]  # fmt: skip
        code, stdout, lines = _timed_aiaas(args, tmp_path / "home", timeout=600)
        finished, stderr = time.time(), "\n".join(line for _, line in lines)
        assert code == 0, stderr[-3000:]
        out = json.loads(stdout)
        assert "Traceback" not in stderr
        told = [(at, line) for at, line in lines if "stopped answering" in line or "aiaas runs sync" in line]
        assert len(told) == 2 and out["run_id"] in told[1][1], stderr[-3000:]  # "gone, carrying on", then "what"
        assert Path(out["checkpoint"]).is_file() and out["epochs"] == 3 and out["bento_tag"]
        assert out["checkpoint"] in told[1][1]  # the last line names the checkpoint kept locally
        killed = float(stamp.read_text())
        print(
            f"\nserver killed after epoch 1 of 3; first line {told[0][0] - killed:.1f} s later, last line "
            f"{told[1][0] - killed:.1f} s later (evaluate, export, package and push done by then), "
            f"command done {finished - killed:.1f} s later"
        )
        print("\n".join(line for _, line in told))
        assert told[0][0] - killed < 60

        server.start()  # the same port and store: the server is back
        synced = _aiaas(["runs", "sync", out["run_id"], "--tracking-uri", server.uri, "--json"], tmp_path / "home", 300)
        assert synced.returncode == 0, synced.stderr[-3000:]
        print(f"runs sync: {synced.stdout.strip()}")
        client = MlflowClient(tracking_uri=server.uri)
        run = client.get_run(out["run_id"])
        assert run.info.status == "FINISHED"
        assert run.data.tags["aiaas.stage.pipeline"] == "done" and run.data.tags["aiaas.bento"] == out["bento_tag"]
        assert len(client.get_metric_history(out["run_id"], "val_loss")) == 3
        assert run.data.metrics["test_accuracy"] == pytest.approx(out["metrics"]["accuracy"])
        assert {"checkpoints", "config", "dataset", "evaluation", "export"} <= {
            a.path for a in client.list_artifacts(out["run_id"])
        }
        name, version = run.data.tags["aiaas.registered_model"].split("/")
        assert client.get_model_version(name, version).run_id == out["run_id"]
        again = _aiaas(["runs", "sync", out["run_id"], "--tracking-uri", server.uri, "--json"], tmp_path / "home", 300)
        assert again.returncode == 0 and json.loads(again.stdout)["uploaded"] == 0
    finally:
        server.stop()
