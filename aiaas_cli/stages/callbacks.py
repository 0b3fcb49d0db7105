"""Lightning callbacks of our own: throughput, and plain per-epoch lines for non-TTY logs."""

from __future__ import annotations

import statistics
import time

import pytorch_lightning as pl

from aiaas_cli import console


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
