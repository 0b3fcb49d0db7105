"""The only module that talks to MLflow: runs, params, metrics, artifacts and run look-ups.

Writes go through one place (``_send``). When a tracking server stops answering mid-run, the first failed write
(after a few bounded retries) switches the run to offline: it carries on, and what it could not send is kept in
the run's journal (`journal.py`) for `aiaas runs sync` to upload once the server is back.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiaas_cli import console, owner, redact, tags, workspace
from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.journal import Journal

RUN_ENV = "AIAAS_RUN_ID"  # hands the run to processes that Lightning launches for DDP
RANK_VARS = ("LOCAL_RANK", "RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID")  # Lightning, torchrun, SLURM
# MLflow's own defaults retry a dead server for minutes per call (7 retries, backoff 2, 120 s timeout). A user's
# own MLFLOW_HTTP_* settings win over these.
HTTP_LIMITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
               "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}  # fmt: skip
_UNREACHABLE = re.compile(r"API request to \S+ failed with|Max retries exceeded|Connection (refused|reset|aborted)")
_BATCH = 1000  # MLflow's limit of metrics per log_batch call


@dataclass
class _Run:
    """The run this process writes to (MLflow's "active run", kept here so that a dead server can be handled)."""

    run_id: str
    uri: str
    journal: Journal
    offline: str | None = None  # why the server stopped answering
    recorded: bool = False  # a metric or an artifact reached the server
    metrics: dict[str, float] = field(default_factory=dict)  # the latest values logged by this process


_active: _Run | None = None


def is_rank_zero() -> bool:
    """True in the one process that tracks and reports (every process when not distributed)."""
    return all(os.environ.get(var, "0") == "0" for var in RANK_VARS)


def tracking_uri(cfg: Any) -> str:
    uri = cfg.tracking.uri or os.environ.get("MLFLOW_TRACKING_URI")
    return str(uri) if uri else f"sqlite:///{workspace.home() / 'mlflow.db'}"


def _check_reachable(uri: str) -> None:
    import requests

    try:
        requests.get(uri.rstrip("/") + "/health", timeout=5)
    except requests.RequestException:
        raise UserError(
            f"MLflow tracking server {redact.url(uri)} is unreachable",
            "start it, or point tracking.uri / MLFLOW_TRACKING_URI at a running server",
        ) from None


def configure(cfg: Any) -> str:
    """Point MLflow at the configured store (a local SQLite file unless told otherwise)."""
    import mlflow

    for name in ("alembic", "mlflow", "urllib3.connectionpool"):
        logging.getLogger(name).setLevel(logging.ERROR)
    uri = tracking_uri(cfg)
    if uri.startswith(("http://", "https://")):
        for key, value in HTTP_LIMITS.items():
            os.environ.setdefault(key, value)
        _check_reachable(uri)
    else:
        workspace.home().mkdir(parents=True, exist_ok=True)
    users_env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    # set_tracking_uri also exports the URI; a config override must not outlive this command.
    if users_env is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = users_env
    return uri


def _client():
    from mlflow.tracking import MlflowClient

    return MlflowClient()


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the tracking server did not answer (as opposed to refusing a request)."""
    import requests

    if isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)):
        return True
    return type(exc).__name__ == "MlflowException" and bool(_UNREACHABLE.search(str(exc)))


def _experiment_id(name: str, uri: str) -> str:
    client = _client()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None if uri.startswith("http") else (workspace.home() / "artifacts").as_uri()
    return client.create_experiment(name, artifact_location=location)


def get_run(run_id: str):
    """The MLflow run ``run_id``, or a clear error if there is none."""
    from mlflow.exceptions import MlflowException

    try:
        return _client().get_run(run_id)
    except MlflowException as exc:
        if unreachable(exc):
            raise UserError("the MLflow tracking server did not answer", "check that it is running") from None
        raise ConfigError(f"run '{run_id}' does not exist", "see `aiaas runs` for run ids") from None


def _open(cfg: Any, run_id: str | None, uri: str) -> str:
    from mlflow.tracking.context.registry import resolve_tags

    client = _client()
    if run_id:
        client.update_run(run_id, status="RUNNING")
        client.set_tag(run_id, tags.OWNER, owner.stamp())  # this process holds the run now
        return run_id
    experiment = _experiment_id(str(cfg.tracking.experiment), uri)
    opened = {tags.RECIPE: cfg.recipe, tags.OWNER: owner.stamp()}
    return client.create_run(experiment, tags=resolve_tags(opened)).info.run_id


@contextmanager
def run(cfg: Any, stage: str) -> Iterator[str]:
    """Open (or continue, with run=<id>) the MLflow run that this stage logs to."""
    global _active
    run_id = cfg.run or os.environ.get(RUN_ENV)
    uri = configure(cfg)
    if not is_rank_zero():
        yield run_id or "worker"  # worker ranks never log; rank zero owns the run
        return
    # A later stage that fails leaves a finished run finished; it only marks its own stage as failed.
    status_on_failure = get_run(run_id).info.status if run_id else "FAILED"
    status = status_on_failure if status_on_failure != "RUNNING" else "FAILED"
    try:
        opened = _open(cfg, run_id, uri)
    except Exception as exc:
        if not unreachable(exc):
            raise
        raise UserError(f"MLflow tracking server {redact.url(uri)} stopped answering", "check that it runs") from None
    active = _active = _Run(opened, uri, Journal(opened))
    workspace.sweep_workspace()  # litter of commands that were killed (kill -9 runs no clean-up)
    try:
        set_tags({f"{tags.STAGE_PREFIX}{stage}": "failed"})
        yield active.run_id
        set_tags({f"{tags.STAGE_PREFIX}{stage}": "done"})
        status = "FINISHED"
    except (KeyboardInterrupt, SystemExit):
        status = "KILLED"
        raise
    except ConfigError:
        if run_id is None and not active.recorded and active.offline is None:
            status = "DELETED"  # a usage mistake found before anything was recorded: no FAILED run left behind
        raise
    finally:
        try:
            _close(active, status)
        finally:
            _active = None


def _close(active: _Run, status: str) -> None:
    if status == "DELETED":
        _client().delete_run(active.run_id)
        shutil.rmtree(workspace.run_dir(active.run_id), ignore_errors=True)
        return
    _send({"op": "end", "status": status, "end_time": int(time.time() * 1000)})
    if active.offline is not None:
        uri = redact.url(active.uri)
        console.warn(
            f"not recorded on {uri}: {active.journal.summary()} (kept in {active.journal.path}); "
            f"upload them when the server is back: aiaas runs sync {active.run_id} --tracking-uri {uri}"
        )


def _send(entry: dict[str, Any], **extra: Any) -> Any:
    """Make the write that ``entry`` describes; when the server is gone, keep ``entry`` in the run's journal."""
    active = _active
    if active is None:
        raise RuntimeError("tracking: no run is open")  # a bug: stages log inside `tracking.run`
    if active.offline is None:
        try:
            with quiet_stdout():
                result = _WRITES[entry["op"]](active.run_id, entry, **extra)
        except Exception as exc:
            if not unreachable(exc):
                raise
            active.offline = str(exc).splitlines()[0][:200]
            console.warn(
                f"the tracking server {redact.url(active.uri)} stopped answering; run {active.run_id} carries on "
                f"and keeps what it cannot send in {active.journal.path}"
            )
        else:
            active.recorded = active.recorded or entry["op"] in ("metrics", "artifact")
            return result
    active.journal.append(entry)
    return None


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """MLflow writes "View run ..." links to stdout, which belongs to --json; send them to stderr."""
    with redirect_stdout(sys.stderr):
        yield


# The writes, one per kind of journal entry: made live by `_send`, or replayed later by `sync`.
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


_WRITES = {"params": _write_params, "metrics": _write_metrics, "tags": _write_tags, "artifact": _write_artifact,
           "model": _write_model, "end": _write_end}  # fmt: skip


def log_params(params: dict[str, Any]) -> None:
    """Log params (credentials masked); ones the run already has are kept."""
    if is_rank_zero():
        _send({"op": "params", "params": {k: str(redact.value(k, v))[:6000] for k, v in params.items()}})


def log_metric_rows(rows: list[list]) -> None:
    """Log [key, value, timestamp_ms, step] rows in as few calls as possible (Lightning's buffered metrics)."""
    if is_rank_zero() and rows:
        _active.metrics.update({key: float(value) for key, value, _, _ in rows})
        _send({"op": "metrics", "rows": rows})


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    stamp = int(time.time() * 1000)
    log_metric_rows([[k, float(v), stamp, step or 0] for k, v in metrics.items()])


def run_metrics(run_id: str) -> dict[str, float]:
    """The run's metrics; while its server is away, the ones this process logged."""
    if _active is not None and _active.run_id == run_id and _active.offline is not None:
        return dict(_active.metrics)
    return get_run(run_id).data.metrics


def set_tags(values: dict[str, Any]) -> None:
    if is_rank_zero():
        _send({"op": "tags", "tags": {k: str(redact.value(k, v)) for k, v in values.items()}})


def log_artifact(path: Path, artifact_path: str | None = None) -> None:
    if is_rank_zero():
        _send({"op": "artifact", "path": str(path), "artifact_path": artifact_path})


def download(run_id: str, artifact_path: str) -> Path:
    """A local copy of one artifact of a run, in this command's scratch folder (removed when it exits)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        destination = workspace.scratch_dir() / run_id
        destination.mkdir(parents=True, exist_ok=True)
        return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact_path,
                                                        dst_path=str(destination)))  # fmt: skip
    except (MlflowException, OSError):
        raise UserError(f"run '{run_id}' has no artifact '{artifact_path}'") from None


def latest_run_with(cfg: Any, tag: str) -> str:
    """The newest run of this recipe's experiment that has ``tag`` (e.g. a checkpoint)."""
    configure(cfg)
    client = _client()
    experiment = client.get_experiment_by_name(str(cfg.tracking.experiment))
    runs = []
    if experiment is not None:
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=50)
    for found in runs:
        if tag in found.data.tags:
            return found.info.run_id
    raise ConfigError(f"no {cfg.recipe} run has {tag.removeprefix('aiaas.')} yet", "train one first, or pass run=<id>")


def recent_runs(cfg: Any, limit: int) -> list:
    """The newest runs across all experiments of this store."""
    from mlflow.entities import ViewType

    configure(cfg)
    client = _client()
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not ids:
        return []
    return client.search_runs(ids, order_by=["attributes.start_time DESC"], max_results=limit)


def register_onnx(path: Path, name: str, example: tuple[Any, Any]) -> str | None:
    """Log ``path`` as an MLflow ONNX model of the open run and register it as ``name``; the new version."""
    if not is_rank_zero():
        return None
    return _send({"op": "model", "path": str(path), "name": name}, example=example)


def sync(cfg: Any, run_id: str) -> dict[str, Any]:
    """Upload what run ``run_id`` kept in its journal while its server was away; resumable, idempotent."""
    configure(cfg)
    journal = Journal(run_id)
    entries, done = journal.entries(), journal.uploaded()
    if done < len(entries):
        get_run(run_id)  # a clear error when the server does not know this run
    for number, entry in enumerate(entries[done:], start=done + 1):
        try:
            with quiet_stdout():
                _WRITES[entry["op"]](run_id, entry)
        except Exception as exc:
            if not unreachable(exc):
                raise
            raise UserError(f"the tracking server stopped answering after {number - 1 - done} upload(s)",
                            f"run `aiaas runs sync {run_id}` again when it is back") from None  # fmt: skip
        journal.mark_uploaded(number)
    journal.remove()
    return {"run_id": run_id, "uploaded": len(entries) - done, "status": get_run(run_id).info.status}
