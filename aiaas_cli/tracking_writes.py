"""The MLflow writes, one per kind of run-journal entry: made live by `tracking._send`, or replayed by `sync`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli import tags, workspace
from aiaas_cli.errors import UserError

_BATCH = 1000  # MLflow's limit of metrics per log_batch call


def _client():
    from mlflow.tracking import MlflowClient

    return MlflowClient()


def _write_params(run_id: str, entry: dict) -> None:
    from mlflow.entities import Param

    existing = _client().get_run(run_id).data.params  # MLflow params cannot change: keep the ones it has
    items = [Param(k, v) for k, v in entry["params"].items() if k not in existing]
    for start in range(0, len(items), 100):
        _client().log_batch(run_id, params=items[start : start + 100])


def _write_metrics(run_id: str, entry: dict) -> None:
    from mlflow.entities import Metric

    metrics = [Metric(key, float(value), int(stamp), int(step)) for key, value, stamp, step in entry["rows"]]
    for start in range(0, len(metrics), _BATCH):
        _client().log_batch(run_id, metrics=metrics[start : start + _BATCH])


def _write_tags(run_id: str, entry: dict) -> None:
    from mlflow.entities import RunTag

    _client().log_batch(run_id, tags=[RunTag(k, v) for k, v in entry["tags"].items()])


def _write_artifact(run_id: str, entry: dict) -> None:
    if Path(entry["path"]).is_dir():
        _client().log_artifacts(run_id, entry["path"], entry["artifact_path"])
    else:
        _client().log_artifact(run_id, entry["path"], entry["artifact_path"])


def _write_model(run_id: str, entry: dict, example: tuple[Any, Any] | None = None) -> str | None:
    import mlflow
    import onnx
    from mlflow.models import infer_signature

    with workspace.library_temp_in_scratch():  # MLflow saves a whole copy of the model there first
        info = mlflow.onnx.log_model(
            onnx.load(entry["path"]),
            name="onnx",
            registered_model_name=entry["name"],
            signature=infer_signature(*example) if example is not None else None,
            save_as_external_data=False,
            run_id=run_id,
        )
    version = str(info.registered_model_version) if info.registered_model_version is not None else None
    _client().set_tag(run_id, tags.REGISTERED_MODEL, f"{entry['name']}/{version}")  # also when replayed by sync
    return version


def _write_end(run_id: str, entry: dict) -> None:
    _client().set_terminated(run_id, entry["status"], entry["end_time"])


WRITES = {"params": _write_params, "metrics": _write_metrics, "tags": _write_tags, "artifact": _write_artifact,
           "model": _write_model, "end": _write_end}  # fmt: skip


def sync(cfg: Any, run_id: str) -> dict[str, Any]:
    """Upload what run ``run_id`` kept in its journal while its server was away; resumable, idempotent."""
    from aiaas_cli.journal import Journal
    from aiaas_cli.tracking import configure, get_run, quiet_stdout, unreachable

    configure(cfg)
    journal = Journal(run_id)
    entries, done = journal.entries(), journal.uploaded()
    if done < len(entries):
        get_run(run_id)  # a clear error when the server does not know this run
    for number, entry in enumerate(entries[done:], start=done + 1):
        try:
            with quiet_stdout():
                WRITES[entry["op"]](run_id, entry)
        except Exception as exc:
            if not unreachable(exc):
                raise
            raise UserError(f"the tracking server stopped answering after {number - 1 - done} upload(s)",
                            f"run `aiaas runs sync {run_id}` again when it is back") from None  # fmt: skip
        journal.mark_uploaded(number)
    journal.remove()
    return {"run_id": run_id, "uploaded": len(entries) - done, "status": get_run(run_id).info.status}
