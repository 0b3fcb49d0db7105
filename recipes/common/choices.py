"""Config values that must be one of a few names, checked when the config is composed (before any run exists)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiaas_cli.errors import ConfigError

CELLS = ("lstm", "gru")  # recurrent cells the sequence recipes build (torch.nn.LSTM / GRU)


def check_choice(key: str, value: Any, allowed: Iterable[str]) -> None:
    """Refuse ``key=value`` unless value is one of ``allowed``, naming them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ConfigError(f"{key}={value} must be one of {', '.join(allowed)}", f"e.g. {key}={allowed[0]}")


def check_cell(model_cfg: Any) -> None:
    """``model.cell`` of a recurrent model (models without one, such as a CNN, pass)."""
    if "cell" in model_cfg:
        check_choice("model.cell", model_cfg.cell, CELLS)
