"""train: dataset dir -> Lightning fit -> best/last checkpoints, logged to the MLflow run."""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from contextlib import contextmanager
from typing import Any

from aiaas_cli import console, tracking, workspace
from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import Recipe
from aiaas_cli.stages.preprocess import Dataset

TRAINER_KEYS = (
    "max_epochs", "accelerator", "devices", "strategy", "num_nodes", "precision", "accumulate_grad_batches",
    "gradient_clip_val", "deterministic", "log_every_n_steps", "limit_train_batches", "limit_val_batches",
)  # fmt: skip


def _quiet_lightning() -> None:
    if not console.settings.debug:
        logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
        logging.getLogger("lightning_fabric").setLevel(logging.WARNING)
    for pattern in (".*does not have many workers.*", ".*smaller than the logging interval.*", ".*LeafSpec.*"):
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


def _callbacks(cfg: Any, ckpt_dir, has_val: bool) -> tuple[list, Any, Any]:
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar

    from aiaas_cli.stages.callbacks import EpochLines, Throughput

    monitor = "val_loss" if has_val else "train_loss_epoch"
    checkpoint = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor=monitor, mode="min", save_last=True)
    throughput = Throughput()
    callbacks = [
        checkpoint,
        throughput,
        RichProgressBar(console_kwargs={"stderr": True}) if console.is_tty() else EpochLines(),
    ]
    stop = cfg.trainer.early_stopping
    if stop.enabled and has_val:
        callbacks.append(EarlyStopping(monitor=stop.monitor, patience=stop.patience, mode=stop.mode))
    return callbacks, checkpoint, throughput


def _trainer(cfg: Any, run_id: str, uri: str, callbacks: list):
    import pytorch_lightning as pl
    from lightning_fabric.utilities.exceptions import MisconfigurationException
    from pytorch_lightning.loggers import MLFlowLogger

    # Not synchronous: a blocking write per logged step (an SQLite commit, or an HTTP call to a tracking server)
    # stalls training; MLflow's queue is flushed when Lightning ends the fit (set_terminated).
    logger = MLFlowLogger(
        experiment_name=str(cfg.tracking.experiment), tracking_uri=uri, run_id=run_id, synchronous=False
    )
    kwargs = {key: cfg.trainer[key] for key in TRAINER_KEYS}
    try:
        return pl.Trainer(
            **kwargs,
            callbacks=callbacks,
            logger=logger,
            default_root_dir=str(workspace.run_dir(run_id)),
            enable_progress_bar=console.is_tty(),
            enable_model_summary=console.settings.debug,
        )
    except (MisconfigurationException, ValueError) as exc:
        raise ConfigError(f"invalid trainer settings: {str(exc).splitlines()[0]}") from None


def fit(cfg: Any, recipe: Recipe, dataset: Dataset, run_id: str) -> dict:
    """Train ``recipe``'s model on ``dataset`` in run ``run_id``; return the checkpoint paths."""
    import pytorch_lightning as pl
    import torch
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    _quiet_lightning()
    if cfg.trainer.threads:
        torch.set_num_threads(int(cfg.trainer.threads))
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = recipe.datamodule(cfg, dataset.dir, dataset.manifest)
    module = recipe.model(cfg, dataset.manifest, dataset.dir)
    params = sum(p.numel() for p in module.parameters())
    console.step(f"Building model <{cfg.model._target_}> ({params:,} parameters)")
    ckpt_dir = workspace.run_dir(run_id) / "checkpoints"
    if tracking.is_rank_zero():
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    has_val = sum(dataset.manifest["counts"]["val"].values()) > 0
    callbacks, checkpoint, throughput = _callbacks(cfg, ckpt_dir, has_val)
    trainer = _trainer(cfg, run_id, tracking.tracking_uri(cfg), callbacks)
    try:
        with _run_env(run_id), tracking.quiet_stdout():
            trainer.fit(module, datamodule=datamodule)
    except MisconfigurationException as exc:
        raise ConfigError(f"invalid trainer settings: {str(exc).splitlines()[0]}") from None
    if not trainer.is_global_zero:
        raise SystemExit(0)  # DDP workers stop here; rank zero reports
    best = checkpoint.best_model_path or checkpoint.last_model_path
    return {
        "checkpoint": best,
        "last_checkpoint": checkpoint.last_model_path,
        "epochs": trainer.current_epoch,
        "best_score": float(checkpoint.best_model_score) if checkpoint.best_model_score is not None else None,
        "samples_per_sec": round(throughput.samples_per_sec, 1),
    }


def log(result: dict) -> None:
    tracking.set_tags({"aiaas.checkpoint": result["checkpoint"]})
    tracking.log_artifact(result["checkpoint"], "checkpoints")
