"""The run a stage logs to: open or continue it, write params, metrics, tags and artifacts, close it.

Writes go through one place (``_send``). When a tracking server stops answering mid-run, the first failed write
(after a few bounded retries) switches the run to offline: it carries on, and what it could not send is kept in
the run's journal (`journal.py`) for `aiaas runs sync` to upload once the server is back.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiaas_cli import console, owner, redact, tags, workspace
from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.tracking.connection import configure, get_run, mlflow_client, quiet_stdout, unreachable
from aiaas_cli.tracking.journal import Journal
from aiaas_cli.tracking.writes import WRITES

RUN_ENV = "AIAAS_RUN_ID"  # hands the run to processes that Lightning launches for DDP
RANK_VARS = ("LOCAL_RANK", "RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID")  # Lightning, torchrun, SLURM


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


def _experiment_id(name: str, uri: str) -> str:
    client = mlflow_client()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    from mlflow.exceptions import MlflowException

    location = None if uri.startswith("http") else (workspace.home() / "artifacts").as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # another job created it since the look-up (jobs started together)
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _open(cfg: Any, run_id: str | None, uri: str) -> str:
    from mlflow.tracking.context.registry import resolve_tags

    client = mlflow_client()
    if run_id:
        client.update_run(run_id, status="RUNNING")
        client.set_tag(run_id, tags.OWNER, owner.stamp())  # this process holds the run now
        return run_id
    experiment = _experiment_id(str(cfg.tracking.experiment), uri)
    opened = {tags.RECIPE: cfg.recipe, tags.OWNER: owner.stamp()}
    opened.update({str(k): str(v) for k, v in (cfg.tracking.get("run_tags") or {}).items()})
    if cfg.tracking.get("parent_run"):
        opened[tags.PARENT_TAG] = str(cfg.tracking.parent_run)
    return client.create_run(experiment, tags=resolve_tags(opened)).info.run_id


@contextmanager
def run(cfg: Any, stage: str) -> Iterator[str]:
    """Open (or continue, with run=<id>) the MLflow run that this stage logs to; nested, the outer one is the
    active run again when the inner one ends (a sweep's trials inside the sweep's run)."""
    global _active
    outer = _active
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
            _active = outer


def _close(active: _Run, status: str) -> None:
    if status == "DELETED":
        mlflow_client().delete_run(active.run_id)
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
                result = WRITES[entry["op"]](active.run_id, entry, **extra)
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


def register_onnx(path: Path, name: str, example: tuple[Any, Any]) -> str | None:
    """Log ``path`` as an MLflow ONNX model of the open run and register it as ``name``; the new version."""
    if not is_rank_zero():
        return None
    return _send({"op": "model", "path": str(path), "name": name}, example=example)
