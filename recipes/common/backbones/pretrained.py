"""The one rule for pretrained flags in a model config: they matter when a network is built to be trained, never
when it is rebuilt to receive a checkpoint's weights (the checkpoint carries every weight, and the machine that
evaluates or exports may not have the pretrained files)."""

from __future__ import annotations

from typing import Any

FLAGS = ("pretrained", "pretrained_backbone")  # the model configs' names for "start from ImageNet weights"
FILES = ("file",)  # and for "start from the weights in this file" (model=timm's model.file)


def for_checkpoint(model_cfg: Any) -> dict:
    """``model_cfg`` with every pretrained flag off and no weights file: building it reads no pretrained file."""
    off = {**{flag: False for flag in FLAGS if flag in model_cfg}, **{key: None for key in FILES if key in model_cfg}}
    return {**model_cfg, **off}
