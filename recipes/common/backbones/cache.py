"""torchvision's pretrained weights where torch hub keeps them (TORCH_HOME/hub/checkpoints): downloaded by torchvision
itself when online, read from that cache only when offline (``offline=true``, which the train stage turns into
HF_HUB_OFFLINE=1 while the model is built, or HF_HUB_OFFLINE=1 set by the user); a file that cannot be had is one
line naming where it belongs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aiaas_cli.errors import UserError
from aiaas_recipes.common.backbones.hub import is_offline


def cached_weights(weights: Any, setting: str = "model.pretrained") -> Path:
    """The local file of torchvision ``weights`` (downloaded into the torch hub cache first when online); an error
    naming the path (and the ``setting`` that asked for them) when they cannot be had."""
    import torch

    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    if path.is_file():
        return path
    hint = f"copy the file there from a machine with internet, or set {setting}=false"
    if is_offline():
        raise UserError(f"pretrained weights {weights} are not cached at {path} and offline mode is on", hint)
    try:
        weights.get_state_dict(progress=False, check_hash=True)  # torchvision's own download into that cache
    except Exception as exc:  # urllib, http and hash errors alike mean the same to a user: no file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"pretrained weights {weights} are not cached at {path} and the download failed: {reason}",
                        hint) from None  # fmt: skip
    return path


def imagenet_state(name: str) -> dict:
    """The DEFAULT ImageNet weights of torchvision model ``name``, as a state dict (downloaded when online)."""
    import torch
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    return torch.load(cached_weights(weights), map_location="cpu", weights_only=True)
