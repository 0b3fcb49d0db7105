"""Fine-tuning a network that starts from pretrained weights, the same for every Lightning recipe.

- ``model.init_from`` (``run:<run id>`` or a checkpoint file): the tensors whose names and shapes match are loaded;
  a head for another label set keeps its fresh initialisation; the counts are printed, logged and reported.
- ``finetune.freeze_epochs``: the pretrained parameters stay fixed for the first N epochs (the new head learns first).
- ``finetune.backbone_lr``: the pretrained parameters get their own learning rate (``ConfiguredModule`` builds the
  two parameter groups).
- Where the network started from (``aiaas_source``: a hub model, a weights file, an earlier run) is recorded with the
  run as tags ``aiaas.source.*``.

A module says which of its parameters came pretrained with ``pretrained_names`` (hub recipes set it when they build
the model, ``init_from`` sets it to the names it loaded); without it the module trains as before.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from aiaas_cli import console, tags, tracking
from aiaas_cli.errors import ConfigError, UserError

RUN_PREFIX = "run:"
SETTING = "model.init_from"


def offline_env(cfg: Any) -> AbstractContextManager:
    """``offline=true`` as the libraries' own switches (HF_HUB_OFFLINE=1...) while the model is built."""
    from aiaas_recipes.common.backbones.hub import offline_switches

    return offline_switches(cfg)


def prepare(cfg: Any, module: Any, run_id: str) -> list[pl.Callback]:
    """Apply ``model.init_from`` and the ``finetune`` settings to ``module``; record its source with run ``run_id``;
    the callbacks the trainer needs for them."""
    init_from = cfg.model.get("init_from")
    if init_from:
        counts, names, source = load_init(cfg, module, str(init_from))
        module.pretrained_names, module.init_counts = names, counts
        module.aiaas_source = source
        tracking.log_params({f"init_from.{key}": value for key, value in counts.items()})
    _record_source(getattr(module, "aiaas_source", None))
    names = set(getattr(module, "pretrained_names", None) or ())
    tuning = cfg.get("finetune") or {}
    module.backbone_lr = tuning.get("backbone_lr")
    freeze = int(tuning.get("freeze_epochs") or 0)
    if not names and (freeze or module.backbone_lr is not None):
        console.warn("finetune.freeze_epochs and finetune.backbone_lr change nothing: no weight came pretrained "
                     f"(set {SETTING} or use a hub model)")  # fmt: skip
        return []
    return [FreezePretrained(freeze)] if freeze else []


def summary(module: Any) -> dict:
    """The init_from counts for the train stage's report (empty when the network did not start from a run/file)."""
    counts = getattr(module, "init_counts", None)
    return {"init_from": counts} if counts else {}


def load_init(cfg: Any, module: Any, init_from: str) -> tuple[dict, set[str], dict]:
    """Load the matching tensors of ``init_from`` into ``module``: (counts, loaded parameter names, source)."""
    from aiaas_recipes.common.backbones.hub import file_source, run_source

    if init_from.startswith(RUN_PREFIX):
        run = init_from.removeprefix(RUN_PREFIX).strip()
        path, source, what = _run_checkpoint(run), run_source(run), f"run {run}"
    else:
        path = Path(init_from).expanduser()
        if not path.is_file():
            raise ConfigError(f"{SETTING}={init_from}: no such checkpoint file",
                              "give run:<run id> (see `aiaas runs`) or the path of a .ckpt file")  # fmt: skip
        source, what = file_source("checkpoint", path), str(path)
    state = _checkpoint_state(path, cfg.recipe, what)
    counts, loaded = match_state(module, state)
    if not counts["loaded"]:
        raise ConfigError(f"{SETTING}: no tensor of {what} matches this model by name and shape",
                          "start from a run of the same model (model=...) as this one")  # fmt: skip
    console.step(f"Initialised from {what}: {counts['loaded']} tensors loaded, {counts['reinitialised']} "
                 f"re-initialised (other shape), {counts['new']} new")  # fmt: skip
    parameters = {name for name, _ in module.named_parameters()}
    return counts, loaded & parameters, source


def _run_checkpoint(run_id: str) -> Path:
    """A local copy of run ``run_id``'s best checkpoint (downloaded from its tracking server when not here)."""
    found = tracking.get_run(run_id).data.tags  # ConfigError when there is no such run
    if tags.CHECKPOINT not in found:
        raise ConfigError(f"{SETTING}=run:{run_id}: the run has no checkpoint",
                          f"train it first: aiaas train {found.get(tags.RECIPE, 'RECIPE')} run={run_id}")  # fmt: skip
    local = Path(found[tags.CHECKPOINT])
    return local if local.is_file() else tracking.download(run_id, f"checkpoints/{local.name}")


def _checkpoint_state(path: Path, recipe: str, what: str) -> dict:
    """The state_dict of an aiaas checkpoint of ``recipe``, read without unpickling code."""
    from aiaas_recipes.common.torch_recipe import read_checkpoint

    checkpoint = read_checkpoint(path)  # UserError for a damaged file or one that is not a plain checkpoint
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise UserError(f"cannot use {what} as {SETTING}: {path} is not a Lightning checkpoint (no state_dict)")
    found = (checkpoint.get("aiaas") or {}).get("recipe")
    if found != recipe:
        raise ConfigError(f"{SETTING}: {what} is a checkpoint of recipe '{found}', not '{recipe}'",
                          f"start from a {recipe} run")  # fmt: skip
    return state


def match_state(module: Any, state: dict) -> tuple[dict, set[str]]:
    """Copy every tensor of ``state`` whose name and shape match into ``module``: (counts, loaded names)."""
    import torch

    own = module.state_dict()
    loaded = {name for name, value in state.items() if name in own and _same_shape(own[name], value)}
    with torch.no_grad():
        module.load_state_dict({name: state[name] for name in loaded}, strict=False)
    counts = {
        "loaded": len(loaded),
        "reinitialised": sum(1 for name in own if name in state and name not in loaded),
        "new": sum(1 for name in own if name not in state),
        "unused": sum(1 for name in state if name not in own),  # the earlier model's tensors this one has no place for
    }
    return counts, loaded


def _same_shape(mine: Any, theirs: Any) -> bool:
    return hasattr(theirs, "shape") and tuple(mine.shape) == tuple(theirs.shape)


def _record_source(source: dict | None) -> None:
    """Tags aiaas.source.kind/name/revision/sha256: where the network started from."""
    if source:
        tracking.set_tags({tags.SOURCE_PREFIX + key: value for key, value in source.items() if value is not None})


class FreezePretrained(pl.Callback):
    """The pretrained parameters take no step for the first ``epochs`` epochs, then train like the rest. Only the
    ones that were trainable are touched (a LoRA model's frozen base stays frozen)."""

    def __init__(self, epochs: int):
        self.epochs = epochs
        self.frozen: list[Any] = []

    def on_fit_start(self, trainer, pl_module):
        names = set(getattr(pl_module, "pretrained_names", None) or ())
        trainable = [(name, p) for name, p in pl_module.named_parameters() if p.requires_grad]
        self.frozen = [p for name, p in trainable if name in names]
        if len(self.frozen) == len(trainable):  # e.g. init_from a run with the same label set: the head came too
            console.warn("finetune.freeze_epochs: every weight came pretrained, none would train; nothing is frozen")
            self.frozen = []

    def on_train_epoch_start(self, trainer, pl_module):
        # a parameter without a gradient is skipped by the optimiser: no step, no weight decay, no moment update
        train = trainer.current_epoch >= self.epochs
        for parameter in self.frozen:
            parameter.requires_grad_(train)
        if trainer.current_epoch == self.epochs and self.epochs and self.frozen:
            console.step(f"Unfreezing {len(self.frozen)} pretrained parameters from epoch {self.epochs + 1}")

    def on_fit_end(self, trainer, pl_module):
        for parameter in self.frozen:
            parameter.requires_grad_(True)
