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
        self._samples += batch_size(batch)
        self._end = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        rate = self._samples / max(self._end - self._start, 1e-9)
        self.rates.append(rate)
        pl_module.log("train_samples_per_sec", rate, sync_dist=True)

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
    dead one costs a single bounded wait (tracking then keeps the metrics in the run's journal).
    """

    def __init__(self, run_id: str, every: float = 10.0):
        super().__init__()
        self._run_id, self.every = run_id, every
        self._rows: list[list] = []
        self._sent = time.monotonic()

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

    def flush(self) -> None:
        rows, self._rows, self._sent = self._rows, [], time.monotonic()
        tracking.log_metric_rows(rows)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.flush()


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
