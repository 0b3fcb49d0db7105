"""The MLflow writes, one per kind of run-journal entry: made live by `runs._send`, or replayed by `sync`."""

from __future__ import annotations

from pathlib import Path

from aiaas_cli.tracking.connection import mlflow_client
from aiaas_cli.tracking.registry import write_model

_BATCH = 1000  # MLflow's limit of metrics per log_batch call


def _write_params(run_id: str, entry: dict) -> None:
    from mlflow.entities import Param

    existing = mlflow_client().get_run(run_id).data.params  # MLflow params cannot change: keep the ones it has
    items = [Param(k, v) for k, v in entry["params"].items() if k not in existing]
    for start in range(0, len(items), 100):
        mlflow_client().log_batch(run_id, params=items[start : start + 100])


def _write_metrics(run_id: str, entry: dict) -> None:
    from mlflow.entities import Metric

    metrics = [Metric(key, float(value), int(stamp), int(step)) for key, value, stamp, step in entry["rows"]]
    for start in range(0, len(metrics), _BATCH):
        mlflow_client().log_batch(run_id, metrics=metrics[start : start + _BATCH])


def _write_tags(run_id: str, entry: dict) -> None:
    from mlflow.entities import RunTag

    mlflow_client().log_batch(run_id, tags=[RunTag(k, v) for k, v in entry["tags"].items()])


def _write_artifact(run_id: str, entry: dict) -> None:
    if Path(entry["path"]).is_dir():
        mlflow_client().log_artifacts(run_id, entry["path"], entry["artifact_path"])
    else:
        mlflow_client().log_artifact(run_id, entry["path"], entry["artifact_path"])


def _write_end(run_id: str, entry: dict) -> None:
    mlflow_client().set_terminated(run_id, entry["status"], entry["end_time"])


WRITES = {"params": _write_params, "metrics": _write_metrics, "tags": _write_tags, "artifact": _write_artifact,
           "model": write_model, "end": _write_end}  # fmt: skip
