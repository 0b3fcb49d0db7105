"""The model registry: an exported ONNX model logged with its run and registered under a name, as a new version."""

from __future__ import annotations

from typing import Any

from aiaas_cli import tags, workspace
from aiaas_cli.tracking.connection import mlflow_client


def write_model(run_id: str, entry: dict, example: tuple[Any, Any] | None = None) -> str | None:
    """Log the ONNX file of ``entry`` as the run's model and register it; the new version (also when replayed)."""
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
    mlflow_client().set_tag(run_id, tags.REGISTERED_MODEL, f"{entry['name']}/{version}")  # also when replayed by sync
    return version
