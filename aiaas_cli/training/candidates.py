"""model=auto: train the recipe's candidates one after another, score each on the validation split, keep the best.

Each candidate gets the config `model=<name>` would give (`candidate_config`), is trained by the train
stage's own `fit` into checkpoints/candidates/<name>/, and is scored by the recipe's `evaluate(..., "val")` headline,
the one figure comparable across networks and estimators. The winner's checkpoint becomes the run's, so export,
package and serve carry it unchanged; the leaderboard (leaderboard.json in the run) keeps every candidate's figures.
As AutoGluon's `time_limit`, `model.time_limit` stops new candidates from starting once spent (the first always
trains). A candidate that fails with a UserError is listed with its error and the others go on.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiaas_cli import config, console, tags, tracking, workspace
from aiaas_cli.artifacts import Dataset, Trained
from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.recipe_api import Recipe
from aiaas_cli.training.resume_run import Stopped

FOLDER = "candidates"  # under the run's checkpoints/
LEADERBOARD = "leaderboard.json"  # in the run dir and at the root of its MLflow artifacts
PREDICT_ITEMS = 256  # validation inputs timed in one batch for predict_ms
PREDICT_REPEATS = 3
TRAINED, FAILED, SKIPPED = "trained", "failed", "skipped"


@dataclass
class Entry:
    """One candidate's line of the leaderboard."""

    name: str
    status: str = TRAINED
    val: float | None = None
    fit_s: float | None = None
    predict_ms: float | None = None  # the model's prediction time per validation item, in one batch (best of 3)
    chosen: bool = False
    checkpoint: str | None = None  # relative to the run dir, which is also its MLflow artifact path
    error: str | None = None  # why it failed, or why it was skipped


def _check_val_split(cfg: Any, dataset: Dataset) -> int:
    from omegaconf import OmegaConf

    count = int(dataset.manifest["splits"].get("val", 0))
    if count == 0:
        now = OmegaConf.select(cfg, "data.split.val", default=None)
        where = f"data.split.val (now {now})" if now is not None else "the validation split"
        raise ConfigError("model=auto ranks its candidates on the validation split, and the dataset has none",
                          f"raise {where}, or train one model with model=<name>")  # fmt: skip
    return count


def _val_score(recipe: Recipe, network: Any, dataset: Dataset) -> float:
    """The recipe's headline on the validation split: the one figure comparable across networks and estimators."""
    report = recipe.evaluate(network, dataset.dir, dataset.manifest, "val")
    return float(report[recipe.metrics.headline])


def _predict_ms(recipe: Recipe, network: Any, dataset: Dataset) -> float:
    """Milliseconds per item of the trained model's own prediction on a batch of validation inputs (the recipe's
    evaluation would count its metrics and reference baselines too)."""
    inputs, _ = recipe.export_samples(dataset.dir, dataset.manifest, "val", PREDICT_ITEMS)
    count = max(len(next(iter(inputs.values()), [])), 1)
    times = []
    for _ in range(PREDICT_REPEATS):  # the fastest of a few: one short batch on a busy machine is noise
        started = time.perf_counter()
        recipe.reference_outputs(network, inputs)
        times.append(time.perf_counter() - started)
    return 1000 * min(times) / count


def _train_one(cfg: Any, recipe: Recipe, dataset: Dataset, run_id: str, name: str, fit: Callable) -> tuple:
    """Train and score one candidate: (its Entry, its Trained)."""
    candidate_cfg = config.candidate_config(recipe, cfg, name)
    folder = workspace.run_dir(run_id) / "checkpoints" / FOLDER / name
    started = time.perf_counter()
    trained = fit(candidate_cfg, recipe, dataset, run_id, None, folder)
    fit_s = time.perf_counter() - started
    network, _ = recipe.load_model(trained.checkpoint)
    val, predict_ms = _val_score(recipe, network, dataset), _predict_ms(recipe, network, dataset)
    relative = Path(trained.checkpoint).resolve().relative_to(workspace.run_dir(run_id).resolve())
    entry = Entry(name, val=val, fit_s=round(fit_s, 2), predict_ms=round(predict_ms, 4), checkpoint=str(relative))
    console.step(f"Candidate {name}: val {recipe.metrics.headline} {val:.4f} (fit {fit_s:.1f} s)")
    return entry, trained


def _better(recipe: Recipe, a: Entry, b: Entry | None) -> bool:
    """Whether ``a`` beats ``b`` on validation; a tie keeps the earlier (cheaper) one."""
    if b is None:
        return True
    return a.val > b.val if recipe.metrics.higher_is_better else a.val < b.val


def train(cfg: Any, recipe: Recipe, dataset: Dataset, run_id: str, fit: Callable, resume_from: Any = None) -> Trained:
    """Train every candidate of model=auto in run ``run_id``; the best on validation is the run's model.

    ``fit(cfg, recipe, dataset, run_id, resume_from, folder)`` is the train stage's fit."""
    if resume_from is not None:
        raise ConfigError("resume= continues one model's training; a model=auto run trains several",
                          "train again with model=auto (or resume a run of one model=<name>)")  # fmt: skip
    _check_val_split(cfg, dataset)
    if tracking.is_rank_zero():
        shutil.rmtree(workspace.run_dir(run_id) / "checkpoints", ignore_errors=True)  # a retrained run's old ones
    names = recipe.candidates(cfg, dataset.manifest)
    if not names:
        raise ConfigError(f"model=auto: no candidate of {recipe.name} fits this dataset", "choose a model=<name>")
    limit = cfg.model.get("time_limit")
    console.step(
        f"model=auto: {len(names)} candidate(s), {', '.join(names)}" + (f"; time limit {limit} s" if limit else "")
    )
    import pytorch_lightning  # noqa: F401  (imported once here, so the first candidate's fit_s does not carry it)

    started = time.perf_counter()
    entries: list[Entry] = []
    best: tuple[Entry, Trained] | None = None
    errors: list[UserError] = []
    for index, name in enumerate(names):
        spent = time.perf_counter() - started
        if limit and index > 0 and spent >= float(limit):
            entries.append(Entry(name, SKIPPED, error=f"time_limit: {spent:.0f} s of {limit} s spent"))
            continue
        console.step(f"Candidate {index + 1}/{len(names)}: model={name}")
        try:
            entry, trained = _train_one(cfg, recipe, dataset, run_id, name, fit)
        except Stopped as stopped:  # Ctrl-C or SIGTERM: the whole run stops, and is not resumed
            stopped.resumable = False
            raise
        except UserError as exc:
            console.warn(f"candidate {name} failed: {exc.one_line()}")
            entries.append(Entry(name, FAILED, error=exc.one_line()))
            errors.append(exc)
            continue
        entries.append(entry)
        if not math.isnan(entry.val) and _better(recipe, entry, best[0] if best else None):
            best = (entry, trained)
    if best is None:
        if len(errors) == 1 and len(entries) == 1:
            raise errors[0]
        failed = "; ".join(f"{e.name}: {e.error}" for e in entries if e.status != TRAINED)
        raise UserError(f"model=auto: no candidate trained ({failed})", "see the lines above; try model=<name>")
    chosen, trained = best
    chosen.chosen = True
    rows = ranked(recipe, entries)
    console.step(f"Chose model={chosen.name}: val {recipe.metrics.headline} {chosen.val:.4f}")
    summary = {**trained.summary, "chosen_model": chosen.name, "leaderboard": rows}
    summary["fit_seconds"] = round(time.perf_counter() - started, 2)
    return Trained(run_id, dataset, trained.checkpoint, summary)


def ranked(recipe: Recipe, entries: list[Entry] | list[dict]) -> list[dict]:
    """Leaderboard rows, best validation score first; failed and skipped candidates after, in their order."""
    rows = [asdict(e) if isinstance(e, Entry) else dict(e) for e in entries]
    scored = [r for r in rows if r["val"] is not None and not math.isnan(r["val"])]
    scored.sort(key=lambda r: r["val"], reverse=recipe.metrics.higher_is_better)
    return scored + [r for r in rows if r not in scored]


def log(trained: Trained) -> None:
    """Write and log the leaderboard, the other candidates' checkpoints, and the chosen model's name."""
    run = workspace.run_dir(trained.run_id)
    rows = trained.summary["leaderboard"]
    workspace.write_json(run / LEADERBOARD, rows)
    tracking.log_artifact(run / LEADERBOARD)
    for row in rows:
        if row["checkpoint"] and not row["chosen"]:  # the chosen one is logged as the run's checkpoint
            tracking.log_artifact(run / row["checkpoint"], str(Path(row["checkpoint"]).parent))
    tracking.set_tags({tags.CHOSEN_MODEL: trained.summary["chosen_model"]})


def read_leaderboard(run_id: str) -> list[dict] | None:
    """The run's leaderboard (None when it was not trained with model=auto), downloaded when not here."""
    local = workspace.run_dir(run_id) / LEADERBOARD
    if local.exists():
        return workspace.read_json(local)
    if (workspace.run_dir(run_id) / "checkpoints").is_dir():
        return None  # trained here, without model=auto
    if tags.CHOSEN_MODEL not in tracking.get_run(run_id).data.tags:
        return None
    return workspace.read_json(tracking.download(run_id, LEADERBOARD))


def checkpoint_of(run_id: str, row: dict) -> Path:
    """A candidate's checkpoint: in the run dir, else downloaded from the run's artifacts."""
    local = workspace.run_dir(run_id) / row["checkpoint"]
    return local if local.exists() else tracking.download(run_id, row["checkpoint"])
