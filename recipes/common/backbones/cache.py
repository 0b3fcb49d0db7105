"""Pretrained weights read from the local torch hub cache only: nothing is downloaded, and a missing file is one
clear error that names where to put it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aiaas_cli.errors import UserError


def cached_weights(weights: Any, setting: str = "model.pretrained") -> Path:
    """Where torch hub keeps torchvision ``weights``; an error naming the path (and the ``setting`` that asked for
    them) when they are not there."""
    import torch

    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    if not path.is_file():
        raise UserError(
            f"pretrained weights {weights} are not cached at {path}",
            f"copy the file there from a machine with internet, or set {setting}=false",
        )
    return path


def imagenet_state(name: str) -> dict:
    """The DEFAULT ImageNet weights of torchvision model ``name``, as a state dict, from the cache only."""
    import torch
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    return torch.load(cached_weights(weights), map_location="cpu", weights_only=True)
