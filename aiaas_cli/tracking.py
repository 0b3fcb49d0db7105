"""The only module that talks to MLflow: runs, params, metrics, artifacts and run look-ups."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

from aiaas_cli import tags, workspace
from aiaas_cli.errors import ConfigError, UserError

RUN_ENV = "AIAAS_RUN_ID"  # hands the run to processes that Lightning launches for DDP


RANK_VARS = ("LOCAL_RANK", "RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID")  # Lightning, torchrun, SLURM


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
            f"MLflow tracking server {uri} is unreachable",
            "start it, or point tracking.uri / MLFLOW_TRACKING_URI at a running server",
        ) from None


def configure(cfg: Any) -> str:
    """Point MLflow at the configured store (a local SQLite file unless told otherwise)."""
    import mlflow

    for name in ("alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.WARNING)
    uri = tracking_uri(cfg)
    if uri.startswith(("http://", "https://")):
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


def _experiment_id(name: str, uri: str) -> str:
    import mlflow

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None if uri.startswith("http") else (workspace.home() / "artifacts").as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


def get_run(run_id: str):
    """The MLflow run ``run_id``, or a clear error if there is none."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        return MlflowClient().get_run(run_id)
    except MlflowException:
        raise ConfigError(f"run '{run_id}' does not exist", "see `aiaas runs` for run ids") from None


@contextmanager
def run(cfg: Any, stage: str) -> Iterator[str]:
    """Open (or continue, with run=<id>) the MLflow run that this stage logs to."""
    run_id = cfg.run or os.environ.get(RUN_ENV)
    uri = configure(cfg)
    if not is_rank_zero():
        yield run_id or "worker"  # worker ranks never log; rank zero owns the run
        return
    import mlflow

    # A later stage that fails leaves a finished run finished; it only marks its own stage as failed.
    status_on_failure = get_run(run_id).info.status if run_id else "FAILED"
    experiment = None if run_id else _experiment_id(str(cfg.tracking.experiment), uri)
    active = mlflow.start_run(run_id=run_id, experiment_id=experiment)
    status = status_on_failure if status_on_failure != "RUNNING" else "FAILED"
    try:
        mlflow.set_tags({tags.RECIPE: cfg.recipe, f"{tags.STAGE_PREFIX}{stage}": "failed"})
        yield active.info.run_id
        mlflow.set_tag(f"{tags.STAGE_PREFIX}{stage}", "done")
        status = "FINISHED"
    finally:
        with quiet_stdout():
            mlflow.end_run(status)


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """MLflow writes "View run ..." links to stdout, which belongs to --json; send them to stderr."""
    with redirect_stdout(sys.stderr):
        yield


def log_params(params: dict[str, Any]) -> None:
    """Log params; ones the run already has are kept (MLflow params cannot change)."""
    import mlflow

    if not is_rank_zero():
        return
    existing = mlflow.get_run(mlflow.active_run().info.run_id).data.params
    fresh = {k: str(v)[:6000] for k, v in params.items() if k not in existing}
    items = list(fresh.items())
    for start in range(0, len(items), 100):
        mlflow.log_params(dict(items[start : start + 100]))


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    import mlflow

    if is_rank_zero():
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)


def set_tags(values: dict[str, Any]) -> None:
    import mlflow

    if is_rank_zero():
        mlflow.set_tags({k: str(v) for k, v in values.items()})


def log_artifact(path: Path, artifact_path: str | None = None) -> None:
    import mlflow

    if not is_rank_zero():
        return
    if Path(path).is_dir():
        mlflow.log_artifacts(str(path), artifact_path)
    else:
        mlflow.log_artifact(str(path), artifact_path)


def download(run_id: str, artifact_path: str) -> Path:
    """A local copy of one artifact of a run."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact_path))
    except (MlflowException, OSError):
        raise UserError(f"run '{run_id}' has no artifact '{artifact_path}'") from None


def latest_run_with(cfg: Any, tag: str) -> str:
    """The newest run of this recipe's experiment that has ``tag`` (e.g. a checkpoint)."""
    from mlflow.tracking import MlflowClient

    configure(cfg)
    experiment = MlflowClient().get_experiment_by_name(str(cfg.tracking.experiment))
    runs = []
    if experiment is not None:
        runs = MlflowClient().search_runs(
            [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=50
        )
    for found in runs:
        if tag in found.data.tags:
            return found.info.run_id
    raise ConfigError(f"no {cfg.recipe} run has {tag.removeprefix('aiaas.')} yet", "train one first, or pass run=<id>")


def recent_runs(cfg: Any, limit: int) -> list:
    """The newest runs across all experiments of this store."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    configure(cfg)
    client = MlflowClient()
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not ids:
        return []
    return client.search_runs(ids, order_by=["attributes.start_time DESC"], max_results=limit)


def register_onnx(path: Path, name: str, example: tuple[Any, Any]) -> str | None:
    """Log ``path`` as an MLflow ONNX model of the active run and register it as ``name``; the new version."""
    import mlflow
    import onnx
    from mlflow.models import infer_signature

    if not is_rank_zero():
        return None
    info = mlflow.onnx.log_model(
        onnx.load(str(path)),
        name="onnx",
        registered_model_name=name,
        signature=infer_signature(*example),
        save_as_external_data=False,
    )
    return str(info.registered_model_version) if info.registered_model_version is not None else None
