"""Run look-ups across a store: the newest runs, the newest with a tag, a sweep's trials; tags on closed runs."""

from __future__ import annotations

from typing import Any

from aiaas_cli.errors import ConfigError
from aiaas_cli.tags import PARENT_TAG
from aiaas_cli.tracking.connection import configure, get_run, mlflow_client


def latest_run_with(cfg: Any, tag: str) -> str:
    """The newest run of this recipe's experiment that has ``tag`` (e.g. a checkpoint)."""
    configure(cfg)
    client = mlflow_client()
    experiment = client.get_experiment_by_name(str(cfg.tracking.experiment))
    runs = []
    if experiment is not None:
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=50)
    for found in runs:
        if tag in found.data.tags:
            return found.info.run_id
    raise ConfigError(f"no {cfg.recipe} run has {tag.removeprefix('aiaas.')} yet", "train one first, or pass run=<id>")


def tag_run(run_id: str, values: dict[str, Any]) -> None:
    """Tag a run that is not the open one (a sweep's finished trial)."""
    from mlflow.entities import RunTag

    mlflow_client().log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in values.items()])


def child_runs(cfg: Any, parent_id: str) -> list:
    """The runs nested under run ``parent_id`` (a sweep's trials)."""
    configure(cfg)
    parent = get_run(parent_id)
    nested = f"tags.`{PARENT_TAG}` = '{parent_id}'"
    return mlflow_client().search_runs([parent.info.experiment_id], nested, max_results=5000)


def recent_runs(cfg: Any, limit: int) -> list:
    """The newest runs across all experiments of this store."""
    from mlflow.entities import ViewType

    configure(cfg)
    client = mlflow_client()
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not ids:
        return []
    return client.search_runs(ids, order_by=["attributes.start_time DESC"], max_results=limit)
