"""The model registry: an exported ONNX model logged with its run and registered under a name, as a new version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli import tags, workspace
from aiaas_cli.tracking.connection import mlflow_client


def write_model(run_id: str, entry: dict, example: tuple[Any, Any] | None = None) -> str | None:
    """Log the ONNX file of ``entry`` as the run's model and register it; the new version (also when replayed)."""
    import mlflow
    import onnx
    from mlflow.models import infer_signature

    model = onnx.load(entry["path"])
    with workspace.library_temp_in_scratch():  # MLflow saves a whole copy of the model there first
        info = mlflow.onnx.log_model(
            model,
            extra_files=_graph_files(model, entry["path"]) or None,
            name="onnx",
            registered_model_name=entry["name"],
            signature=infer_signature(*example) if example is not None else None,
            save_as_external_data=False,
            run_id=run_id,
        )
    version = str(info.registered_model_version) if info.registered_model_version is not None else None
    mlflow_client().set_tag(run_id, tags.REGISTERED_MODEL, f"{entry['name']}/{version}")  # also when replayed by sync
    if version is not None:
        describe_source(run_id, entry["name"], version)
    return version


def _graph_files(model: Any, path: str) -> list[str]:
    """The further graphs (decoder steps) a model of several graphs names beside its model.onnx, logged with it."""
    import json

    from aiaas_cli.serving.runtime import METADATA_KEY

    meta = next((json.loads(p.value) for p in model.metadata_props if p.key == METADATA_KEY), {})
    return [str(Path(path).with_name(file)) for file in (meta.get("graphs") or {}).values()]


def describe_source(run_id: str, name: str, version: str) -> None:
    """The version says what it was fine-tuned from (the run's aiaas.source.* tags): as tags and in its description."""
    client = mlflow_client()
    source = tags.source_of(client.get_run(run_id).data.tags)
    if not source:
        return
    for key, value in source.items():
        client.set_model_version_tag(name, version, tags.SOURCE_PREFIX + key, value)
    exact = source.get("revision") or source.get("sha256")
    where = f"{source.get('kind')} {source.get('name')}" + (f" ({exact})" if exact else "")
    client.update_model_version(name, version, description=f"Fine-tuned from {where}, in aiaas run {run_id}.")
