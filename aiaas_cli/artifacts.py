"""What the stages hand to one another, and how a single-stage command finds its input from a run id.

`aiaas pipeline` passes these values along; `aiaas export RECIPE run=<id>` resolves the one it needs from
the run's tags once, at its start (``dataset_of``, ``trained_of``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiaas_cli import tags, tracking, workspace
from aiaas_cli.errors import UserError


@dataclass
class Dataset:
    dir: Path
    manifest: dict
    cached: bool


@dataclass
class Trained:
    run_id: str
    dataset: Dataset
    checkpoint: Path  # the best one (the last one when nothing was monitored)
    summary: dict[str, Any] = field(default_factory=dict)  # epochs, best score, throughput


@dataclass
class Evaluated:
    run_id: str
    report: dict
    files: list[Path]


def run_tags(run_id: str) -> dict[str, str]:
    return tracking.get_run(run_id).data.tags


def dataset_of(run_id: str, run_tags_: dict[str, str] | None = None) -> Dataset:
    """The dataset a run was trained on, if it is still in this workspace."""
    found = run_tags_ if run_tags_ is not None else run_tags(run_id)
    path = Path(found.get(tags.DATASET_DIR) or "/nonexistent")
    if not (path / "manifest.json").exists():
        raise UserError(
            f"the dataset of run '{run_id}' is not in this workspace ({path})", "run `aiaas preprocess` again"
        )
    return Dataset(path, workspace.read_json(path / "manifest.json"), cached=True)


def trained_of(run_id: str) -> Trained:
    """The run's best checkpoint (downloaded from MLflow when it is not here) and its dataset."""
    found = run_tags(run_id)
    if tags.CHECKPOINT not in found:
        raise UserError(
            f"run '{run_id}' has no checkpoint",
            f"train it first: aiaas train {found.get(tags.RECIPE, 'RECIPE')} run={run_id}",
        )
    local = Path(found[tags.CHECKPOINT])
    checkpoint = local if local.exists() else tracking.download(run_id, f"checkpoints/{local.name}")
    return Trained(run_id, dataset_of(run_id, found), checkpoint)
