"""Tracking against a real `mlflow server` on 127.0.0.1, read back with MlflowClient."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import FAST_TRAIN

MLFLOW = str(Path(sys.executable).with_name("mlflow"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    proc = subprocess.Popen(
        [MLFLOW, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{root / 'db.sqlite'}", "--artifacts-destination", str(root / "artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{uri}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not start within 120 s")
        yield uri
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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
