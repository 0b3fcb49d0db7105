"""`aiaas train RECIPE resume=<run_id>|last`: continue a run from its last checkpoint, in the same MLflow run.

The resumed run keeps the config it was trained with (saved with the run); the command line may change values
(`trainer.max_epochs=30` extends a finished run), not config groups. A run still held by a live process is refused;
one left RUNNING by a process that was killed (kill -9, OOM) is taken over.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from aiaas_cli import owner, tags, tracking, workspace
from aiaas_cli.errors import ConfigError
from aiaas_cli.tracking import search

LAST = "last.ckpt"
KEY = "resume"
KEY_LAST = "last"


class Stopped(SystemExit):
    """Training stopped on SIGINT/SIGTERM after writing a last checkpoint; exits 128 + the signal's number."""

    def __init__(self, signum: int, epoch: int, step: int):
        super().__init__(128 + signum)
        self.signum, self.epoch, self.step = signum, epoch, step
        self.run_id, self.recipe = "", ""

    def one_line(self) -> str:
        name = signal.Signals(self.signum).name
        where = f"stopped by {name} in epoch {self.epoch + 1} after step {self.step}; last checkpoint written"
        return f"{where}; resume with: aiaas train {self.recipe} resume={self.run_id}"


def split(overrides: list[str]) -> tuple[str | None, list[str]]:
    """The value of ``resume=`` (None when absent) and the other overrides."""
    found = [o for o in overrides if o.split("=", 1)[0] == KEY]
    rest = [o for o in overrides if o.split("=", 1)[0] != KEY]
    value = found[-1].split("=", 1)[1].strip() if found else None
    if value == "":
        raise ConfigError("resume= needs a run id or `last`", "e.g. resume=last, see `aiaas runs` for run ids")
    return value, rest


def last_checkpoint(run_id: str) -> Path:
    return workspace.run_dir(run_id) / "checkpoints" / LAST


def _latest(cfg: Any) -> str:
    """The newest run of this recipe's experiment that has a last checkpoint."""
    for run in search.recent_runs(cfg, 50):
        if run.data.tags.get(tags.RECIPE) == cfg.recipe and last_checkpoint(run.info.run_id).exists():
            return run.info.run_id
    raise ConfigError(f"no {cfg.recipe} run has a checkpoint to resume from", "train one first: aiaas train ...")


def _check_run(cfg: Any, run_id: str) -> None:
    run = tracking.get_run(run_id)
    recipe = run.data.tags.get(tags.RECIPE)
    if recipe != cfg.recipe:
        raise ConfigError(f"run '{run_id}' is a {recipe} run, not {cfg.recipe}", f"use: aiaas train {recipe} ...")
    held_by = run.data.tags.get(tags.OWNER)
    # other ranks find the run already held by rank zero: only rank zero decides
    if run.info.status == "RUNNING" and owner.is_dead(held_by) is False and tracking.is_rank_zero():
        raise ConfigError(f"run '{run_id}' is still running ({held_by})", "stop it first (Ctrl-C), then resume it")
    if tags.CHOSEN_MODEL in run.data.tags or (workspace.run_dir(run_id) / "checkpoints" / "candidates").is_dir():
        raise ConfigError(f"run '{run_id}' trained model=auto's candidates: it is not resumed", "train a new run")
    if not last_checkpoint(run_id).exists():
        raise ConfigError(f"run '{run_id}' has no checkpoint to resume from", "train it: aiaas train ... run=<id>")


def _saved_config(run_id: str) -> Any:
    from omegaconf import OmegaConf

    folder = workspace.run_dir(run_id) / "config"
    for stage in ("train", "pipeline"):
        if (folder / f"{stage}.yaml").exists():
            return OmegaConf.load(folder / f"{stage}.yaml")
    raise ConfigError(f"run '{run_id}' has no saved training config", "resume needs a run trained by aiaas train")


def _group_value(node: Any) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def _describe(group: str, node: Any) -> str:
    value = _group_value(node)
    target = value.get("_target_", "?") if isinstance(value, dict) else value
    return f"{group} {target or 'none'}"


def _apply(saved: Any, cfg: Any, overrides: list[str], groups: set[str]) -> None:
    """Set the values given on the command line in the run's saved config (types checked as in compose). A config
    group may be named only with the choice the run was trained with (a retried command line), which ``cfg``, the
    command line's own config, shows."""
    from omegaconf import OmegaConf

    from aiaas_cli import config

    known = config.leaf_keys(saved)
    for override in config._parse(overrides):
        key = override.key_or_group
        if override.is_delete() or override.is_add():
            hint = "a resumed run keeps its config; values such as trainer.max_epochs=30 may change"
            raise ConfigError(f"cannot change `{override.input_line}` when resuming", hint)
        if key in groups:
            if key != "tracking" and _group_value(saved.get(key)) != _group_value(cfg.get(key)):
                was, asked = _describe(key, saved.get(key)), _describe(key, cfg.get(key))
                hint = "a resumed run keeps its config groups; train a new run to change it"
                raise ConfigError(
                    f"cannot change `{override.input_line}` when resuming: the run has {was}, not {asked}", hint
                )
            continue
        if key not in known:
            raise ConfigError(f"unknown config key '{key}'", "see `aiaas train ... --cfg`")
        config._check_type(key, override.value(), known[key])
        OmegaConf.update(saved, key, override.value(), merge=False)


def completed_epochs(path: Path) -> int:
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    # "processed": the epoch's batches are all done (a last checkpoint is written before "completed" counts it)
    return int(state["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])


def prepare(recipe: Any, cfg: Any, value: str, overrides: list[str]) -> Any:
    """The config of the run to resume (``value``: a run id or `last`) with ``overrides`` applied."""
    from omegaconf import OmegaConf, open_dict

    from aiaas_cli import config

    tracking.configure(cfg)
    run_id = _latest(cfg) if value == KEY_LAST else value
    _check_run(cfg, run_id)
    resumed = _saved_config(run_id)
    _apply(resumed, cfg, overrides, {p.name for p in recipe.config_dir.iterdir() if p.is_dir()})
    resumed.tracking = cfg.tracking  # where runs are tracked is this command's business
    with open_dict(resumed):
        resumed.run, resumed[KEY] = run_id, run_id
    OmegaConf.set_struct(resumed, True)
    config.validate(recipe, resumed)
    done = completed_epochs(last_checkpoint(run_id))
    if done >= int(resumed.trainer.max_epochs):
        limit = f"trainer.max_epochs={resumed.trainer.max_epochs}"
        hint = f"train on with a higher limit, e.g. resume={run_id} trainer.max_epochs={done + 10}"
        raise ConfigError(f"run '{run_id}' has trained {done} epoch(s), {limit}", hint)
    return resumed
