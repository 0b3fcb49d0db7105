"""Typed schemas of the config groups every recipe shares, registered in Hydra's ConfigStore.

The group files (`conf/trainer/default.yaml`...) extend these (`defaults: [schema, _self_]`), so a value of
the wrong type is refused even where the default is null, and a key that is not in the schema is unknown.
A numeric field's allowed range sits on the field itself (``bounded``), beside its type and default, and
`check_bounds` enforces it when the config is composed, before any run exists.
Recipes' own groups (data, model, optim) stay free-form: their keys are the recipe's business. The few keys that
mean the same in every recipe (a learning rate, a batch size) have their ranges in ``SHARED_BOUNDS``; the
recipe checks the rest (`Recipe.check_config`).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, Optional

from aiaas_cli.errors import ConfigError


@dataclass(frozen=True)
class Bounds:
    """An allowed range; ``above``: the low end itself is excluded (a learning rate of 0 trains nothing)."""

    low: float | None = None
    high: float | None = None
    above: bool = False
    words: tuple[str, ...] = ()  # words allowed besides numbers ("auto")

    def problem(self, value: Any) -> str | None:
        if value in self.words:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return "must be a number" + "".join(f" or {word}" for word in self.words)
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            return f"must be {'above' if self.above else 'at least'} {self.low}"
        if self.high is not None and value > self.high:
            return f"must be at most {self.high}"
        return None


def bounded(default: Any, low: float | None = None, high: float | None = None, above: bool = False,
            words: tuple[str, ...] = ()) -> Any:  # fmt: skip
    """A dataclass field with ``default`` whose values must lie in [low, high] (or (low, high] with ``above``), or
    be one of ``words``."""
    return field(default=default, metadata={"bounds": Bounds(low, high, above, words)})


@dataclass
class EarlyStopping:
    enabled: bool = True
    monitor: Optional[str] = None  # null: the recipe's metric
    patience: int = bounded(4, low=0)
    mode: Optional[str] = None  # null: the recipe's


@dataclass
class Trainer:
    """Lightning's Trainer (built with hydra.utils.instantiate), plus aiaas' own `threads` and `early_stopping`."""

    _target_: str = "pytorch_lightning.Trainer"
    max_epochs: int = bounded(12, low=1)  # Lightning reads -1 as "forever"
    accelerator: str = "auto"
    devices: Any = 1  # an int, a list of ids or "auto"
    strategy: str = "auto"
    num_nodes: int = bounded(1, low=1)
    precision: Any = "32-true"
    accumulate_grad_batches: int = bounded(1, low=1)
    gradient_clip_val: Optional[float] = bounded(None, low=0)
    deterministic: bool = False
    log_every_n_steps: int = bounded(10, low=1)
    limit_train_batches: Any = 1.0  # a fraction (float) or a number of batches (int)
    limit_val_batches: Any = 1.0
    threads: Optional[int] = bounded(None, low=1)
    checkpoint_every_n_steps: Optional[int] = bounded(None, low=1)  # null: a last checkpoint at each epoch's end
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)
    callbacks: dict[str, Any] = field(default_factory=dict)  # extra Lightning callbacks: name -> {_target_: ...}


# aiaas' keys in the trainer group, not Trainer's
OWN_TRAINER_KEYS = ("threads", "checkpoint_every_n_steps", "early_stopping", "callbacks")
# aiaas' keys in a model config, read by the train stage, never passed to the model's constructor
OWN_MODEL_KEYS = ("init_from",)


@dataclass
class Export:
    opset: int = bounded(18, low=7)
    exporter: str = "dynamo"
    dynamic_batch: bool = True
    parity_samples: int = bounded(256, low=1)
    tolerance: float = bounded(1.0e-3, low=0)
    score_tolerance: float = bounded(0.01, low=0, high=1)
    box_iou: float = bounded(0.99, low=0, high=1)
    score_threshold: Optional[float] = bounded(None, low=0, high=1)
    min_agreement: float = bounded(0.99, low=0, high=1)
    quantize: Optional[str] = None
    calibration_samples: int = bounded(256, low=1)
    target_cpu: str = "auto"
    per_channel: bool = True
    reduce_range: Any = None  # null/auto, true or false
    max_score_drop: float = 1.0  # unbounded: a negative drop asks int8 to gain that much
    latency_runs: int = bounded(100, low=1)
    int8_even_if_slower: bool = False
    register: bool = True
    registered_model_name: str = "aiaas-${recipe}"


@dataclass
class Serve:
    top_k: int = bounded(5, low=1)
    host: str = "127.0.0.1"
    port: int = bounded(3000, low=1, high=65535)
    limits: dict[str, Any] = field(default_factory=dict)
    max_body_mb: float = bounded(20.0, low=0, above=True)
    max_batch_size: int = bounded(32, low=1)
    max_latency_ms: float = bounded(0.0, low=0)
    threads: Any = bounded("auto", low=1, words=("auto",))  # auto/null/a number (serving/sizing.py)
    workers: Any = bounded("auto", low=1, words=("auto",))
    body_timeout_s: float = bounded(30.0, low=0, above=True)
    decode_threads: int = bounded(1, low=1)
    accept_in_turns: bool = True
    max_decode_seconds: float = bounded(10.0, low=0, above=True)
    max_connections: int = bounded(256, low=1)
    header_timeout_s: float = bounded(10.0, low=0, above=True)
    state_dir: Optional[str] = None
    fast_path: bool = True
    access_log: bool = False
    metrics: bool = False
    tracing: bool = False


@dataclass
class Tracking:
    uri: Optional[str] = None
    experiment: str = "${recipe}"
    parent_run: Optional[str] = None  # set by a sweep: its trials are nested under this run
    run_tags: dict[str, Any] = field(default_factory=dict)  # extra tags on the runs this command opens
    server: bool = False  # tracking=server: a team's server must be named (never the local store by mistake)


@dataclass
class Lora:
    """LoRA adapters through peft on a hub model's layers (r=0: off); merged into the weights before export."""

    r: int = bounded(0, low=0)
    alpha: float = bounded(16.0, low=0, above=True)
    dropout: float = bounded(0.0, low=0, high=1)
    target_modules: Optional[list[str]] = None  # null: the model family's attention projections (peft's default)


@dataclass
class Finetune:
    """How a network that starts from pretrained weights (a hub model, `model.init_from`) is trained."""

    freeze_epochs: int = bounded(0, low=0)  # the pretrained weights stay fixed for the first N epochs
    backbone_lr: Optional[float] = bounded(None, low=0, above=True)  # null: optim.lr for every weight
    gradient_checkpointing: bool = False  # recompute activations in the backward pass: less memory, more time
    lora: Lora = field(default_factory=Lora)


SCHEMAS = {"trainer": Trainer, "export": Export, "serve": Serve, "tracking": Tracking, "finetune": Finetune}

# Keys of the free-form groups that mean the same in every recipe and config file that has them.
SHARED_BOUNDS = {
    "optim.lr": Bounds(0, above=True),
    "optim.weight_decay": Bounds(0),
    "optim.momentum": Bounds(0, 1),
    "scheduler.step_size": Bounds(1),
    "scheduler.gamma": Bounds(0, above=True),
    "data.batch_size": Bounds(1),
    "data.num_workers": Bounds(0),
    "data.preprocess_workers": Bounds(1),
    "model.dropout": Bounds(0, 1),
}

# Keys of the free-form groups whose value is one of a few words, where a recipe's config has them.
SHARED_CHOICES = {
    "data.storage": (
        "npy",
        "litdata",
    ),  # npy: memory-mapped arrays; litdata: LitData shards (recipes/common/data/rows.py)
}


def _schema_bounds(node: type, prefix: str) -> dict[str, tuple[Bounds, Any]]:
    found: dict[str, tuple[Bounds, Any]] = {}
    for item in fields(node):
        if "bounds" in item.metadata:
            found[f"{prefix}{item.name}"] = (item.metadata["bounds"], item.default)
        elif item.default_factory is not MISSING and is_dataclass(nested := item.default_factory()):
            found.update(_schema_bounds(type(nested), f"{prefix}{item.name}."))
    return found


def check_bounds(cfg: Any) -> None:
    """Refuse a value outside its range (`trainer.max_epochs=-1`, `optim.lr=-5`) with one line."""
    from omegaconf import OmegaConf

    known = {key: (bounds, None) for key, bounds in SHARED_BOUNDS.items()}
    for group, node in SCHEMAS.items():
        known.update(_schema_bounds(node, f"{group}."))
    for key, (bounds, default) in known.items():
        value = OmegaConf.select(cfg, key, default=None)
        problem = None if value is None else bounds.problem(value)
        if problem:
            raise ConfigError(f"{key}={value} {problem}", f"e.g. {key}={default}" if default is not None else None)
    check_choices(cfg)


def check_choices(cfg: Any) -> None:
    """Refuse a word outside its choices (`data.storage=parquet`) with one line."""
    from omegaconf import OmegaConf

    for key, choices in SHARED_CHOICES.items():
        value = OmegaConf.select(cfg, key, default=None)
        if value is not None and value not in choices:
            raise ConfigError(f"{key}={value} is not one of {', '.join(choices)}", f"e.g. {key}={choices[0]}")


def register() -> None:
    """Put the schemas in Hydra's ConfigStore as `<group>/schema` (idempotent)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for group, node in SCHEMAS.items():
        store.store(group=group, name="schema", node=node)
