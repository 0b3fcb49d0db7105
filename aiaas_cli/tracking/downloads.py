"""Local copies of a run's artifacts (a checkpoint, an exported model) for the command that needs them."""

from __future__ import annotations

from pathlib import Path

from aiaas_cli import workspace
from aiaas_cli.errors import UserError


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
