"""train: dataset dir -> Lightning fit -> best/last checkpoints, logged to the MLflow run."""

from __future__ import annotations

import logging
import os
import shutil
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiaas_cli import config, console, tags, tracking, workspace
from aiaas_cli.artifacts import Dataset, Trained
from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import Estimator, Recipe
from aiaas_cli.training import candidates


def _quiet_lightning() -> None:
    if not console.settings.debug:
        logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
        logging.getLogger("lightning_fabric").setLevel(logging.WARNING)
    quiet = (".*does not have many workers.*", ".*smaller than the logging interval.*", ".*LeafSpec.*", ".*set_vital.*",
             ".*exists and is not empty.*", ".*`IterableDataset` has `__len__` defined.*")  # fmt: skip
    for pattern in quiet:
        warnings.filterwarnings("ignore", message=pattern)


@contextmanager
def _run_env(run_id: str):
    """Expose the run id to DDP worker processes for the length of the fit."""
    old = os.environ.get(tracking.RUN_ENV)
    os.environ[tracking.RUN_ENV] = run_id
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(tracking.RUN_ENV, None)
        else:
            os.environ[tracking.RUN_ENV] = old


def _monitor(recipe: Recipe, has_val: bool) -> tuple[str, str]:
    """The metric that picks the best checkpoint and stops early: the recipe's, or the training loss."""
    return (recipe.metrics.monitor, recipe.metrics.mode) if has_val else ("train_loss_epoch", "min")


def _callbacks(cfg: Any, ckpt_dir, monitor: tuple[str, str], has_val: bool) -> tuple[list, Any, Any]:
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar

    from aiaas_cli.training.callbacks import EpochLines, MarkCheckpointedMetrics, StopOnSignal, Throughput
    from aiaas_cli.training.resume_run import LAST

    name, mode = monitor
    # one last.ckpt, written by whichever callback saves last (no last-v1.ckpt beside it)
    checkpoint = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor=name, mode=mode, save_last=True,
                                 enable_version_counter=False)  # fmt: skip
    throughput = Throughput()
    callbacks = [
        checkpoint,
        throughput,
        MarkCheckpointedMetrics(),
        StopOnSignal(ckpt_dir / LAST),
        RichProgressBar(console_kwargs={"stderr": True}) if console.is_tty() else EpochLines(),
    ]
    if cfg.trainer.checkpoint_every_n_steps:  # mid-epoch resume points, written over last.ckpt
        every = int(cfg.trainer.checkpoint_every_n_steps)
        callbacks.append(ModelCheckpoint(dirpath=ckpt_dir, every_n_train_steps=every, save_top_k=0, save_last=True,
                                         enable_version_counter=False))  # fmt: skip
    stop = cfg.trainer.early_stopping
    if stop.enabled and has_val:
        callbacks.append(EarlyStopping(monitor=stop.monitor or name, patience=stop.patience, mode=stop.mode or mode))
    return callbacks, checkpoint, throughput


def _trainer(cfg: Any, run_id: str, callbacks: list):
    """Lightning's Trainer as the `trainer` config group builds it (`_target_`), with our logger and callbacks."""
    from lightning_fabric.utilities.exceptions import MisconfigurationException
    from omegaconf import OmegaConf

    from aiaas_cli.config import instantiate
    from aiaas_cli.schema import OWN_TRAINER_KEYS
    from aiaas_cli.training.callbacks import AtomicCheckpointIO, RunLogger

    node = OmegaConf.masked_copy(cfg.trainer, [k for k in cfg.trainer if k not in OWN_TRAINER_KEYS])
    build = instantiate(node, _partial_=True)
    extra = [instantiate(callback) for callback in (cfg.trainer.get("callbacks") or {}).values()]
    try:
        return build(
            callbacks=callbacks + extra,
            logger=RunLogger(run_id),
            plugins=[AtomicCheckpointIO()],
            default_root_dir=str(workspace.run_dir(run_id)),
            enable_progress_bar=console.is_tty(),
            enable_model_summary=console.settings.debug,
        )
    except (MisconfigurationException, ValueError, TypeError) as exc:
        raise ConfigError(f"invalid trainer settings: {str(exc).splitlines()[0]}") from None


def model_title(cfg: Any) -> str:
    """The model's class, or for a hub model its kind and name (`hf: prajjwal1/bert-tiny`)."""
    target = cfg.model.get("_target_")
    return target or f"{cfg.model.get('kind', 'model')}: {cfg.model.get('name')}"


def _fresh_checkpoint_dir(run_id: str, folder: Path | None = None) -> Path:
    ckpt_dir = folder or workspace.run_dir(run_id) / "checkpoints"
    if tracking.is_rank_zero():
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return ckpt_dir


def _fit_estimator(
    cfg: Any, recipe: Recipe, estimator: Estimator, dataset: Dataset, run_id: str, folder: Path | None
) -> Trained:
    """A model that trains itself (scikit-learn): fit, log its validation metrics, save it as the checkpoint."""
    console.step(f"Building model <{model_title(cfg)}> (trains itself, no Lightning)")
    started = time.perf_counter()
    metrics = estimator.fit(dataset.dir, dataset.manifest)
    tracking.log_metrics({k: float(v) for k, v in metrics.items()})
    ckpt_dir = _fresh_checkpoint_dir(run_id, folder)
    ckpt_dir.mkdir(parents=True)
    path = ckpt_dir / f"best{recipe.checkpoint_suffix(cfg)}"
    with workspace.atomic_file(path) as temp:
        estimator.save(temp)
    name, _ = _monitor(recipe, True)
    score = metrics.get(name)
    summary = {"epochs": 1, "best_score": None if score is None else float(score)}
    summary["fit_seconds"] = round(time.perf_counter() - started, 2)
    return Trained(run_id, dataset, path, summary)


def _check_data_storage(cfg: Any, datamodule: Any) -> None:
    """data.storage other than npy needs a datamodule on the shared row base (it says so with ``streams``)."""
    from omegaconf import OmegaConf

    chosen = OmegaConf.select(cfg, "data.storage", default=None)
    if chosen in (None, "npy"):
        return
    if not getattr(datamodule, "streams", False):
        raise ConfigError(f"data.storage={chosen}: this model's data loader reads only the npy arrays",
                          "drop data.storage (or set data.storage=npy)")  # fmt: skip


def fit(
    cfg: Any, recipe: Recipe, dataset: Dataset, run_id: str, resume_from: Path | None = None, folder: Path | None = None
) -> Trained:
    """Train ``recipe``'s model on ``dataset`` in run ``run_id`` (from checkpoint ``resume_from`` when given), its
    checkpoints in ``folder`` (default: the run's checkpoints/). model=auto trains each candidate through here."""
    if config.is_auto(cfg):
        return candidates.train(cfg, recipe, dataset, run_id, fit, resume_from)
    import pytorch_lightning as pl
    import torch
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    from aiaas_cli.training.loader_state import make_resumable
    from aiaas_cli.training.resume_run import Stopped

    _quiet_lightning()
    if cfg.trainer.threads:
        torch.set_num_threads(int(cfg.trainer.threads))
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    module = recipe.model(cfg, dataset.manifest, dataset.dir)
    if isinstance(module, Estimator):
        _check_data_storage(cfg, module)  # it reads its own arrays
        return _fit_estimator(cfg, recipe, module, dataset, run_id, folder)
    datamodule = recipe.datamodule(cfg, dataset.dir, dataset.manifest)
    _check_data_storage(cfg, datamodule)
    make_resumable(datamodule)
    params = sum(p.numel() for p in module.parameters())
    console.step(f"Building model <{model_title(cfg)}> ({params:,} parameters)")
    if resume_from is not None:
        console.step(f"Resuming run {run_id} from {resume_from}")
    ckpt_dir = resume_from.parent if resume_from is not None else _fresh_checkpoint_dir(run_id, folder)
    has_val = dataset.manifest["splits"].get("val", 0) > 0
    callbacks, checkpoint, throughput = _callbacks(cfg, ckpt_dir, _monitor(recipe, has_val), has_val)
    trainer = _trainer(cfg, run_id, callbacks)
    try:
        with _run_env(run_id), tracking.quiet_stdout():
            trainer.fit(module, datamodule=datamodule, ckpt_path=None if resume_from is None else str(resume_from))
    except MisconfigurationException as exc:
        raise ConfigError(f"invalid trainer settings: {str(exc).splitlines()[0]}") from None
    except SystemExit as exc:
        # Ctrl-C before the first training batch (sanity check): Lightning turns it into exit 1; it is an interrupt
        if trainer.interrupted and not isinstance(exc, Stopped):
            raise KeyboardInterrupt from None
        raise
    if not trainer.is_global_zero:
        raise SystemExit(0)  # DDP workers stop here; rank zero reports
    best = checkpoint.best_model_path or checkpoint.last_model_path
    return Trained(run_id, dataset, Path(best), {
        "last_checkpoint": checkpoint.last_model_path,
        "epochs": trainer.current_epoch,
        "best_score": float(checkpoint.best_model_score) if checkpoint.best_model_score is not None else None,
        "samples_per_sec": round(throughput.samples_per_sec, 1),
    })  # fmt: skip


def log(trained: Trained) -> None:
    tracking.set_tags({tags.CHECKPOINT: trained.checkpoint})
    tracking.log_artifact(trained.checkpoint, "checkpoints")
    if "leaderboard" in trained.summary:
        candidates.log(trained)


def summary(trained: Trained) -> dict:
    return {"dataset_dir": str(trained.dataset.dir), "checkpoint": str(trained.checkpoint), **trained.summary}
