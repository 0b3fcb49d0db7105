"""Lightning add-ons of our own: throughput, plain per-epoch lines for non-TTY logs, the run's metric logger and
checkpoint writes that are atomic."""

from __future__ import annotations

import io
import statistics
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.plugins import TorchCheckpointIO
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities import rank_zero_only

from aiaas_cli import console, tracking, workspace


class Throughput(pl.Callback):
    """Training samples per second, per epoch; the first epoch (warm-up) is left out when possible.

    An epoch is timed from its start to the end of its last training batch: the validation and checkpoint saving
    that Lightning runs before ``on_train_epoch_end`` are not training.
    """

    def __init__(self):
        self.rates: list[float] = []
        self._start, self._end, self._samples = 0.0, 0.0, 0

    def on_train_epoch_start(self, trainer, pl_module):
        self._start, self._samples = time.perf_counter(), 0
        self._end = self._start

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if not self._start:  # a run resumed mid-epoch: time from its first batch on
            self._start = time.perf_counter()
            return
        self._samples += batch_size(batch)
        self._end = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        if not self._samples:
            return
        rate = self._samples / max(self._end - self._start, 1e-9)
        self.rates.append(rate)
        pl_module.log("train_samples_per_sec", rate, sync_dist=True)
        self._start = 0.0

    @property
    def samples_per_sec(self) -> float:
        steady = self.rates[1:] or self.rates
        return statistics.median(steady) if steady else 0.0  # not the upper middle: 2 epochs would give the max


class EpochLines(pl.Callback):
    """One line per epoch with its metrics, for logs that are not a terminal."""

    def on_train_epoch_end(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        metrics = trainer.callback_metrics
        shown = ["train_loss_epoch", *sorted(k for k in metrics if k.startswith("val_")), "train_samples_per_sec"]
        parts = [f"{k.removesuffix('_epoch')} {float(metrics[k]):.4g}" for k in shown if k in metrics]
        console.info(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}  " + "  ".join(parts))


def batch_size(batch) -> int:
    """Samples in a batch of any shape the recipe's datamodule yields: a tensor, or a tuple/list/dict of them."""
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (list, tuple)):
        return batch_size(batch[0]) if batch else 0
    return len(batch)


class RunLogger(Logger):
    """Lightning's metrics into the aiaas run, through `tracking`, a batch every ``every`` seconds and at the end.

    One call per batch instead of one per logged step keeps a slow tracking server from stalling training, and a
    dead one costs a single bounded wait (tracking then keeps the metrics in the run's journal). Only metrics of
    steps that a checkpoint covers are sent before the end: a run killed and resumed from its last checkpoint logs
    the steps after it again, and so never records a step twice.
    """

    def __init__(self, run_id: str, every: float = 10.0):
        super().__init__()
        self._run_id, self.every = run_id, every
        self._rows: list[list] = []
        self._sent = time.monotonic()
        self._covered = self._marked = 0  # how many of the rows (from the front) a checkpoint holds / is writing

    @property
    def name(self) -> str:
        return "aiaas"

    @property
    def version(self) -> str:
        return self._run_id

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass  # the whole composed config is logged as the run's params

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        stamp = int(time.time() * 1000)
        self._rows += [[key, float(value), stamp, step or 0] for key, value in metrics.items()]
        if time.monotonic() - self._sent >= self.every:
            self.flush()

    def mark(self) -> None:
        """A checkpoint is being written: the rows logged so far are what it holds."""
        self._marked = len(self._rows)

    @rank_zero_only
    def commit(self) -> None:
        """The checkpoint is written: its rows can go."""
        self._covered = max(self._covered, self._marked)
        self.flush()

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        self.commit()

    def flush(self, everything: bool = False) -> None:
        count = len(self._rows) if everything else self._covered
        rows, self._rows = self._rows[:count], self._rows[count:]
        self._covered, self._marked = self._covered - count, max(self._marked - count, 0)
        self._sent = time.monotonic()
        tracking.log_metric_rows(rows)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.flush(everything=status == "success")


class MarkCheckpointedMetrics(pl.Callback):
    """Tells the run's logger which metrics a checkpoint being written holds (see `RunLogger`)."""

    def on_save_checkpoint(self, trainer, pl_module, checkpoint):
        for logger in trainer.loggers:
            if isinstance(logger, RunLogger):
                logger.mark()


class StopOnSignal(pl.Callback):
    """SIGINT/SIGTERM (Ctrl-C, SLURM's preemption notice) stop training after the current batch: a last checkpoint
    is written, then `Stopped` ends the command (the run is marked KILLED). A second signal stops at once."""

    def __init__(self, last: Path):
        self.last, self.signum = last, 0
        self._previous: dict[int, Any] = {}

    def on_train_start(self, trainer, pl_module):  # after Lightning's own SIGTERM handler, which exits with 0
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._note)

    def _note(self, signum, frame):
        if self.signum:
            raise KeyboardInterrupt
        self.signum = signum
        console.warn("stopping after this batch with a last checkpoint (signal again to stop at once, without one)")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._maybe_stop(trainer)

    def on_validation_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            self._maybe_stop(trainer)

    def _maybe_stop(self, trainer):
        stop = bool(self.signum)
        if trainer.world_size > 1:  # every rank stops at the same batch, or the checkpoint's barrier never returns
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if stop:
            self._stop(trainer)

    def _stop(self, trainer):
        from aiaas_cli.training.resume_run import Stopped

        trainer.save_checkpoint(self.last)
        for logger in trainer.loggers:
            if isinstance(logger, RunLogger):
                logger.commit()
        raise Stopped(self.signum or 15, trainer.current_epoch, trainer.global_step)

    def teardown(self, trainer, pl_module, stage):
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}


class OptunaPruning(pl.Callback):
    """Reports a sweep trial's per-epoch metric to its Optuna study and stops the trial when the pruner says so
    (rank zero decides, every rank stops)."""

    def __init__(self, study_name: str, storage: str, trial_id: int, monitor: str, pruner: Any = None):
        self.study_name, self.storage, self.trial_id, self.monitor = study_name, storage, int(trial_id), monitor
        self.pruner = pruner

    def on_validation_end(self, trainer, pl_module):
        if trainer.sanity_checking:
            return
        prune = False
        if trainer.is_global_zero and self.monitor in trainer.callback_metrics:
            prune = self._report(float(trainer.callback_metrics[self.monitor]), trainer.current_epoch)
        if trainer.world_size > 1:
            prune = trainer.strategy.broadcast(prune, src=0)
        if prune:
            import optuna

            from aiaas_cli.training.sweep import TRIAL_STATE

            tracking.set_tags({TRIAL_STATE: "pruned"})
            raise optuna.TrialPruned(f"pruned at epoch {trainer.current_epoch + 1}")

    def _report(self, value: float, epoch: int) -> bool:
        import optuna

        from aiaas_cli.training.sweep import rdb

        study = optuna.load_study(study_name=self.study_name, storage=rdb(self.storage), pruner=self.pruner)
        trial = optuna.trial.Trial(study, self.trial_id)
        trial.report(value, step=epoch)
        return trial.should_prune()


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written under a temporary name beside the final one, then renamed into place.

    Lightning's own save goes through a temp file in /tmp and a move, which is a copy across filesystems: a kill
    mid-copy leaves a torn checkpoint under its final name, and the temp file stays behind. Here a kill or a full
    disk leaves the previous checkpoint as it was (and a full disk is one line, see `workspace`).
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)  # torch's zip writer hides the OS error of a full disk: write the bytes here
        with workspace.atomic_file(Path(path)) as temp:
            temp.write_bytes(buffer.getbuffer())
