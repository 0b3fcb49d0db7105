"""Find and safely load a run's checkpoint (weights_only=True: no pickled code is ever run)."""

from __future__ import annotations

from pathlib import Path

from aiaas_cli import tracking
from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.recipe_api import Recipe


def path_for_run(run_id: str) -> Path:
    """The run's best checkpoint: the local file if it is here, else downloaded from MLflow."""
    tags = tracking.get_run(run_id).data.tags
    if "aiaas.checkpoint" not in tags:
        raise UserError(
            f"run '{run_id}' has no checkpoint",
            f"train it first: aiaas train {tags.get('aiaas.recipe', 'RECIPE')} run={run_id}",
        )
    local = Path(tags["aiaas.checkpoint"])
    return local if local.exists() else tracking.download(run_id, f"checkpoints/{local.name}")


def load(path: Path, recipe: Recipe) -> dict:
    """The checkpoint dict, after checking that it belongs to ``recipe``."""
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise UserError(f"cannot load checkpoint {path}: {str(exc).splitlines()[0]}") from None
    owner = checkpoint.get("aiaas", {}).get("recipe") if isinstance(checkpoint, dict) else None
    if owner != recipe.name:
        raise ConfigError(f"checkpoint {path} is from recipe '{owner}', not '{recipe.name}'")
    return checkpoint
