"""Where runs are tracked and how to reach it: the store's URI, MLflow's one client, a dead server told apart."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

from aiaas_cli import redact, workspace
from aiaas_cli.errors import ConfigError, UserError

# MLflow's own defaults retry a dead server for minutes per call (7 retries, backoff 2, 120 s timeout). A user's
# own MLFLOW_HTTP_* settings win over these.
HTTP_LIMITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
               "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}  # fmt: skip
_UNREACHABLE = re.compile(r"API request to \S+ failed with|Max retries exceeded|Connection (refused|reset|aborted)")


def tracking_uri(cfg: Any) -> str:
    uri = cfg.tracking.uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri and cfg.tracking.get("server"):
        hint = "add tracking.uri=http://HOST:5000, or set MLFLOW_TRACKING_URI"
        raise ConfigError("tracking=server needs the address of the team's MLflow server", hint)
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
    if uri.startswith("sqlite:///"):
        _create_sqlite_store(uri)
    users_env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    # set_tracking_uri also exports the URI; a config override must not outlive this command.
    if users_env is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = users_env
    return uri


def _create_sqlite_store(uri: str) -> None:
    """Create (or migrate) a SQLite store in one process at a time. MLflow does it in whichever process opens a
    new store first, and jobs started together on a fresh home (a CI matrix) each ran the schema migration: most
    died with "duplicate column name". Under the lock the first creates it and the others find it ready."""
    from filelock import FileLock
    from mlflow.tracking import MlflowClient

    path = Path(uri.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"):
        MlflowClient(tracking_uri=uri)


def mlflow_client():
    """MLflow's client for the store that `configure` pointed at (the one factory of the tracking package)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient()


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the tracking server did not answer (as opposed to refusing a request)."""
    import requests

    if isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)):
        return True
    return type(exc).__name__ == "MlflowException" and bool(_UNREACHABLE.search(str(exc)))


def get_run(run_id: str):
    """The MLflow run ``run_id``, or a clear error if there is none."""
    from mlflow.exceptions import MlflowException

    try:
        return mlflow_client().get_run(run_id)
    except MlflowException as exc:
        if unreachable(exc):
            raise UserError("the MLflow tracking server did not answer", "check that it is running") from None
        raise ConfigError(f"run '{run_id}' does not exist", "see `aiaas runs` for run ids") from None


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """MLflow writes "View run ..." links to stdout, which belongs to --json; send them to stderr."""
    with redirect_stdout(sys.stderr):
        yield
