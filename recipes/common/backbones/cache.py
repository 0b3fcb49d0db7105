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


def load_imagenet(model: Any, name: str, keeper: Any = None) -> None:
    """Load the DEFAULT ImageNet weights of torchvision model ``name`` into ``model`` and mark them pretrained (on
    ``keeper``, the module that keeps pieces of ``model``, when ``model`` itself is not kept)."""
    import torchvision

    model.load_state_dict(imagenet_state(name))
    mark_pretrained(model, cached_weights(torchvision.models.get_model_weights(name).DEFAULT), keeper)


def mark_pretrained(part: Any, weights_file: Path, keeper: Any = None) -> None:
    """Mark every parameter of ``part`` (a network or a piece of one) as pretrained from ``weights_file``; the mark
    is kept on ``keeper`` (default: ``part``), a module of the network that is trained.

    The parameters themselves are kept, not their names: a head replaced afterwards drops out, and a network that
    reuses the pieces under other names (a detector's stem) keeps them. ConfiguredModule turns them into its
    ``pretrained_names`` (finetune.freeze_epochs, finetune.backbone_lr) and its source (the run's aiaas.source.*).
    """
    from aiaas_recipes.common.backbones.hub import SOURCE_ATTR, file_source

    keeper = part if keeper is None else keeper
    keeper.aiaas_pretrained = tuple(part.parameters())
    setattr(keeper, SOURCE_ATTR, file_source("torchvision", weights_file))
