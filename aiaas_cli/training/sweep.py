"""Optuna sweeps with the syntax of Hydra's Optuna sweeper: `-m hydra/sweeper=optuna 'optim.lr=interval(1e-4,1e-2)'`.

Optuna is driven directly (ask/tell) behind that syntax: hydra-optuna-sweeper 1.3 needs optuna<3, whose storage
does not run on the SQLAlchemy 2 that MLflow needs, and aiaas composes configs with Hydra's compose API, where
sweeper plugins do not run. Hydra's own parser reads the search space (interval, choice, range, tag(log, ...)).

The objective is the metric that picks the recipe's best checkpoint (its `Metrics.monitor`, in the direction of its
`mode`), reported each epoch so that Optuna's pruner can stop a poor trial early. Every trial is an MLflow run nested
under the sweep's run, which records the best trial. Workers that name the same `study_name` and `storage` share the
study: the one that creates it opens the sweep's run, the others nest their trials under that same run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiaas_cli import config, console, tracking, workspace
from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.recipe_api import bundled_conf_dir
from aiaas_cli.tracking import search

SWEEPER = "hydra/sweeper"
PREFIXES = ("hydra.sweeper.", "sweep.")
PARENT_ATTR = "parent_run_id"
# tags of the runs a sweep writes
TRIAL, TRIAL_STATE, OBJECTIVE, SWEEP = "aiaas.trial", "aiaas.trial_state", "aiaas.objective", "aiaas.sweep"


def wanted(overrides: list[str]) -> bool:
    """Whether the command line asks for an Optuna sweep (`hydra/sweeper=optuna`)."""
    return any(o.replace(" ", "") == f"{SWEEPER}=optuna" for o in overrides)


def _settings(lines: list[str]) -> Any:
    from omegaconf import OmegaConf

    settings = OmegaConf.load(Path(bundled_conf_dir()) / "sweep" / "optuna.yaml")
    for override in config._parse(lines):
        key = next(override.key_or_group.removeprefix(p) for p in PREFIXES if override.key_or_group.startswith(p))
        if key.split(".")[0] not in settings and not key.startswith("params."):
            raise ConfigError(f"unknown sweep setting '{key}'", f"one of: {', '.join(settings)}")
        OmegaConf.update(settings, key, override.value(), merge=True)
    return settings


def _distribution(key: str, sweep: Any):
    """Hydra's sweep value (interval, choice, range; tag(log, ...)) as an Optuna distribution."""
    import optuna.distributions as d
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    log = "log" in getattr(sweep, "tags", set())
    if isinstance(sweep, IntervalSweep):
        if isinstance(sweep.start, int) and isinstance(sweep.end, int):
            return d.IntDistribution(sweep.start, sweep.end, log=log)
        return d.FloatDistribution(float(sweep.start), float(sweep.end), log=log)
    if isinstance(sweep, RangeSweep):
        if all(isinstance(v, int) for v in (sweep.start, sweep.stop, sweep.step)):
            last = sweep.start + (sweep.stop - sweep.start - 1) // sweep.step * sweep.step  # range() excludes stop
            return d.IntDistribution(sweep.start, last, step=sweep.step)
        return d.FloatDistribution(sweep.start, sweep.stop - sweep.step, step=sweep.step)
    if isinstance(sweep, ChoiceSweep):
        return d.CategoricalDistribution([_plain(v) for v in sweep.list])
    raise ConfigError(f"{key}: sweep with interval(a,b), choice(a,b,...), range(a,b) or a,b,c")


def _plain(value: Any) -> Any:
    """A choice as Optuna stores it: numbers and strings as they are, anything else as Hydra override text."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else json.dumps(value)


def parse(overrides: list[str]) -> tuple[Any, dict, list[str]]:
    """(sweep settings, search space {key: distribution}, the overrides every trial shares)."""
    settings_lines = [o for o in overrides if o.split("=", 1)[0].startswith(PREFIXES)]
    rest = [o for o in overrides if o not in settings_lines and not o.replace(" ", "").startswith(SWEEPER + "=")]
    settings = _settings([o for o in settings_lines if ".params." not in o.split("=", 1)[0]])
    space: dict[str, Any] = {}
    param_lines = [f"{k}={v}" for k, v in (settings.params or {}).items()]
    param_lines += [o.split(".params.", 1)[1] for o in settings_lines if ".params." in o.split("=", 1)[0]]
    for override in config._parse(param_lines + rest):
        if override.is_sweep_override():
            key = ("++" if override.is_force_add() else "+" if override.is_add() else "") + override.key_or_group
            space[key] = _distribution(key, override.value())
    shared = [o.input_line for o in config._parse(rest) if not o.is_sweep_override()]
    if not space:
        raise ConfigError("an Optuna sweep needs a search space", "e.g. 'optim.lr=interval(1e-4,1e-2)'")
    return settings, space, shared


def _override(key: str, value: Any) -> str:
    return f"{key}={'null' if value is None else str(value).lower() if isinstance(value, bool) else value}"


def _direction(settings: Any, recipe: Any) -> str:
    direction = settings.direction or ("maximize" if recipe.metrics.mode == "max" else "minimize")
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"hydra.sweeper.direction={direction} must be minimize or maximize")
    return direction


def _storage(settings: Any) -> str:
    return str(settings.storage or f"sqlite:///{workspace.home() / 'optuna.db'}")


def rdb(url: str) -> Any:
    """Optuna's database storage; workers starting together race to create its tables: SQLite's are created under a
    file lock, a server's (PostgreSQL, MySQL; workers on several machines) again after a collision."""
    import optuna
    from filelock import FileLock

    if not url.startswith("sqlite:///"):
        return _server_rdb(url)
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"):  # busy writers wait instead of failing with "database is locked"
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})


def _server_rdb(url: str, tries: int = 5) -> Any:
    """A database server's storage; a worker whose table creation collided with another's tries again (by then the
    tables exist, and creating them is a no-op). A server that cannot be reached fails at once, in one line."""
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    from aiaas_cli import redact

    for attempt in range(1, tries + 1):
        try:
            return _open_rdb(url)
        except (IntegrityError, ProgrammingError):  # PostgreSQL: duplicate key value … "pg_type_typname_nsp_index"
            if attempt == tries:
                raise
            time.sleep(0.5 * attempt)
        except OperationalError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0][:300]
            raise UserError(
                f"sweep.storage={redact.url(url)}: {reason}", "check that the database is running"
            ) from None


def _open_rdb(url: str) -> Any:
    import optuna

    try:
        return optuna.storages.RDBStorage(url)
    except ImportError as exc:  # Optuna's, raised from the missing driver that the URL's scheme names
        driver = getattr(exc.__cause__, "name", None) or exc.name or "of this URL"
        raise ConfigError(f"sweep.storage: the database driver {driver} is not installed",
                          "pip install psycopg psycopg-binary, for postgresql://") from None  # fmt: skip


def _study(settings: Any, recipe: Any, direction: str) -> tuple[Any, bool]:
    """The study (created, or shared with other workers under its name) and whether this process created it."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = settings.study_name or f"aiaas-{recipe.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    storage, sampler = rdb(_storage(settings)), config.instantiate(settings.sampler)
    pruner = config.instantiate(settings.pruner) if settings.pruner else optuna.pruners.NopPruner()
    workspace.home().mkdir(parents=True, exist_ok=True)
    try:  # creating is atomic in the database: exactly one worker creates the study (and the sweep's run)
        return optuna.create_study(study_name=name, storage=storage, direction=direction, sampler=sampler,
                                   pruner=pruner), True  # fmt: skip
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner), False


def _parent_of(study: Any, wait_s: float = 120.0) -> str:
    """The sweep's run that the worker which created the study opened."""
    started = time.monotonic()
    while PARENT_ATTR not in study.user_attrs:
        if time.monotonic() - started > wait_s:
            raise UserError(f"study {study.study_name} has no sweep run after {wait_s:.0f} s", "start it again")
        time.sleep(0.5)
        study = type(study)(study.study_name, study._storage, study.sampler, study.pruner)
    return study.user_attrs[PARENT_ATTR]


def _trial_cfg(recipe: Any, shared: list[str], trial: Any, parent: str, study: Any, settings: Any) -> Any:
    """A trial's config: the shared overrides, the trial's values, nested under the sweep's run, with pruning."""
    from omegaconf import open_dict

    cfg = config.compose(recipe, shared + [_override(k, v) for k, v in trial.params.items()])
    with open_dict(cfg):
        cfg.tracking.parent_run = parent
        cfg.tracking.run_tags = {**cfg.tracking.run_tags, TRIAL: trial.number}
        cfg.trainer.callbacks["optuna_pruning"] = {
            "_target_": "aiaas_cli.training.callbacks.OptunaPruning",
            "study_name": study.study_name,
            "storage": _storage_of(study),
            "trial_id": trial._trial_id,
            "monitor": recipe.metrics.monitor,
            "pruner": settings.pruner,
        }
    return cfg


def _storage_of(study: Any) -> str:
    return str(getattr(study._storage, "url", None) or study._storage._backend.url)  # cached storages wrap the RDB


def _run_trial(flow: Callable, recipe: Any, make_cfg: Callable, study: Any, trial: Any) -> dict:
    """One trial: train, tell Optuna how it went; a failing trial is recorded as failed and the sweep goes on."""
    import optuna

    row: dict[str, Any] = {"trial": trial.number, "params": dict(trial.params)}
    try:
        result = flow(make_cfg(), recipe)
    except BaseException as exc:
        if isinstance(exc, Exception):
            return _failed(study, trial, row, exc)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)  # Ctrl-C: the trial did not finish; the sweep stops
        raise
    value = result.get("best_score")
    if value is None:
        return _failed(study, trial, {**row, "run_id": result["run_id"]}, ValueError("no objective value"))
    trial.set_user_attr("run_id", result["run_id"])
    study.tell(trial, float(value))
    search.tag_run(result["run_id"], {TRIAL_STATE: "complete", OBJECTIVE: float(value)})
    return {**row, "state": "complete", "run_id": result["run_id"], "objective": float(value)}


def _failed(study: Any, trial: Any, row: dict, exc: Exception) -> dict:
    import optuna

    if isinstance(exc, optuna.TrialPruned):
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        console.step(f"Trial {trial.number} pruned")
        return {**row, "state": "pruned"}
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    message = exc.one_line() if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
    message = (message.splitlines() or [""])[0][:300]
    console.warn(f"trial {trial.number} failed: {message}")
    return {**row, "state": "failed", "error": message}


def _check_space(recipe: Any, shared: list[str], space: dict) -> None:
    """Every searched key exists and takes the values searched (a usage error before any run)."""
    for key, dist in space.items():
        ends = dist.choices if hasattr(dist, "choices") else (dist.low, dist.high)
        for value in ends:
            config.compose(recipe, [*shared, _override(key, value)])


def _record_best(study: Any, metric: str) -> dict | None:
    """The best trial so far (of every worker) on the sweep's run: tags, its params and the metric."""
    try:
        best = study.best_trial
    except ValueError:
        return None  # no trial completed
    found = {"trial": best.number, "run_id": best.user_attrs.get("run_id"), "params": best.params,
             "objective": best.value}  # fmt: skip
    tracking.set_tags({"aiaas.best_run_id": found["run_id"], "aiaas.best_trial": best.number,
                       **{f"aiaas.best.{k.lstrip('+')}": v for k, v in best.params.items()}})  # fmt: skip
    tracking.log_metrics({f"best_{metric}": float(best.value)})
    return found


def run(flow: Callable, recipe_name: str, overrides: list[str], strict: bool) -> dict:
    """Run this process's trials of the sweep that ``overrides`` describe; the payload of its --json."""
    from omegaconf import open_dict

    from aiaas_cli import recipes, redact

    settings, space, shared = parse(overrides)
    shared += ["strict=true"] if strict else []
    recipe = recipes.load(recipe_name)
    cfg = config.compose(recipe, shared)
    if config.is_auto(cfg):  # its objective is one model's monitored metric, each epoch
        raise ConfigError("an Optuna sweep tunes one model; model=auto trains several", "name one: model=<name>")
    _check_space(recipe, shared, space)
    direction, metric = _direction(settings, recipe), recipe.metrics.monitor
    tracking.configure(cfg)
    study, created = _study(settings, recipe, direction)
    if not created:
        with open_dict(cfg):
            cfg.run = _parent_of(study)
    with tracking.run(cfg, "sweep") as parent_id:
        if created:
            study.set_user_attr(PARENT_ATTR, parent_id)
        described = {"study": study.study_name, "storage": redact.url(_storage(settings)), "metric": metric,
                     "direction": direction, "params": sorted(k.lstrip("+") for k in space)}  # fmt: skip
        tracking.set_tags({SWEEP: json.dumps(described)})
        rows = []
        for index in range(int(settings.n_trials)):
            trial = study.ask(space)
            console.step(f"Trial {trial.number} ({index + 1}/{settings.n_trials} here): {trial.params}")

            def make_cfg(trial=trial):
                return _trial_cfg(recipe, shared, trial, parent_id, study, settings)

            rows.append(_run_trial(flow, recipe, make_cfg, study, trial))
        best = _record_best(study, metric)
    return {"run_id": parent_id, "parent_run_id": parent_id, **described, "best": best, "trials": rows}
