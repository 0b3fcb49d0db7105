"""LoRA adapters through peft (finetune.lora.*): only low-rank updates of the chosen layers train, and the task head
stays fully trainable. The adapters are merged into the weights (merge_and_unload) before a checkpoint is written, so
checkpoints, ONNX files and served models hold plain weights, as without LoRA."""

from __future__ import annotations

import copy
from typing import Any

from aiaas_cli.errors import ConfigError

TASKS = {"sequence": "SEQ_CLS", "token": "TOKEN_CLS"}  # our head names -> peft's task types (heads kept trainable)


def wanted(finetune_cfg: Any) -> bool:
    """Whether finetune.lora asks for adapters (r > 0)."""
    lora = finetune_cfg.get("lora") if finetune_cfg is not None else None
    return bool(lora) and int(lora.get("r") or 0) > 0


def apply(model: Any, lora_cfg: Any, head: str, head_modules: list[str] | None = None) -> Any:
    """``model`` wrapped by peft with LoRA adapters of rank lora.r on lora.target_modules (peft's default for the
    model family when null); the head (``head_modules``, else peft's own for the task) trains in full."""
    from peft import LoraConfig, TaskType, get_peft_model

    targets = lora_cfg.get("target_modules")
    config = LoraConfig(
        task_type=TaskType[TASKS[head]] if head in TASKS else None,
        r=int(lora_cfg.r),
        lora_alpha=float(lora_cfg.alpha),
        lora_dropout=float(lora_cfg.dropout),
        target_modules=list(targets) if targets else None,
        modules_to_save=list(head_modules) if head_modules else None,
    )
    try:
        return get_peft_model(model, config)
    except ValueError as exc:  # no default targets for this family, or a target that is not in the model
        raise ConfigError(
            f"cannot add LoRA adapters: {str(exc).splitlines()[0]}",
            "set finetune.lora.target_modules to the model's linear layers, e.g. [query, value]",
        ) from None


def active(model: Any) -> bool:
    """Whether ``model`` carries peft adapters."""
    return hasattr(model, "merge_and_unload") and hasattr(model, "peft_config")


def merged(model: Any) -> Any:
    """A plain copy of ``model`` with its adapters merged into the weights (``model`` itself keeps training)."""
    return copy.deepcopy(model).merge_and_unload() if active(model) else model
