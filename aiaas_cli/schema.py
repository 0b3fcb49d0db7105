"""Typed schemas of the config groups every recipe shares, registered in Hydra's ConfigStore.

The group files (`conf/trainer/default.yaml`...) extend these (`defaults: [schema, _self_]`), so a value of
the wrong type is refused even where the default is null, and a key that is not in the schema is unknown.
Recipes' own groups (data, model) stay free-form: their keys are the recipe's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class EarlyStopping:
    enabled: bool = True
    monitor: Optional[str] = None  # null: the recipe's metric
    patience: int = 4
    mode: Optional[str] = None  # null: the recipe's


@dataclass
class Trainer:
    """Lightning's Trainer (built with hydra.utils.instantiate), plus aiaas' own `threads` and `early_stopping`."""

    _target_: str = "pytorch_lightning.Trainer"
    max_epochs: int = 12
    accelerator: str = "auto"
    devices: Any = 1  # an int, a list of ids or "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: Any = "32-true"
    accumulate_grad_batches: int = 1
    gradient_clip_val: Optional[float] = None
    deterministic: bool = False
    log_every_n_steps: int = 10
    limit_train_batches: Any = 1.0  # a fraction (float) or a number of batches (int)
    limit_val_batches: Any = 1.0
    threads: Optional[int] = None
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)
    callbacks: dict[str, Any] = field(default_factory=dict)  # extra Lightning callbacks: name -> {_target_: ...}


OWN_TRAINER_KEYS = ("threads", "early_stopping", "callbacks")  # aiaas' keys in the trainer group, not Trainer's


@dataclass
class Export:
    opset: int = 18
    exporter: str = "dynamo"
    dynamic_batch: bool = True
    parity_samples: int = 256
    tolerance: float = 1.0e-3
    min_agreement: float = 0.99
    quantize: Optional[str] = None
    calibration_samples: int = 256
    target_cpu: str = "auto"
    per_channel: bool = True
    reduce_range: Any = None  # null/auto, true or false
    max_score_drop: float = 1.0
    latency_runs: int = 100
    int8_even_if_slower: bool = False
    register: bool = True
    registered_model_name: str = "aiaas-${recipe}"


@dataclass
class Serve:
    top_k: int = 5
    host: str = "127.0.0.1"
    port: int = 3000
    limits: dict[str, Any] = field(default_factory=dict)
    max_body_mb: float = 20.0
    max_batch_size: int = 32
    max_latency_ms: float = 0.0
    threads: Optional[int] = 1
    workers: int = 2
    body_timeout_s: float = 30.0
    decode_threads: int = 1
    max_decode_seconds: float = 10.0
    max_connections: int = 256
    header_timeout_s: float = 10.0
    fast_path: bool = True
    access_log: bool = False
    metrics: bool = False


@dataclass
class Tracking:
    uri: Optional[str] = None
    experiment: str = "${recipe}"


SCHEMAS = {"trainer": Trainer, "export": Export, "serve": Serve, "tracking": Tracking}


def register() -> None:
    """Put the schemas in Hydra's ConfigStore as `<group>/schema` (idempotent)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for group, node in SCHEMAS.items():
        store.store(group=group, name="schema", node=node)
