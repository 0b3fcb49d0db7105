"""Lightning callbacks of our own: throughput, and plain per-epoch lines for non-TTY logs."""

from __future__ import annotations

import time

import pytorch_lightning as pl

from aiaas_cli import console


class Throughput(pl.Callback):
    """Training samples per second, per epoch; the first epoch (warm-up) is left out when possible."""

    def __init__(self):
        self.rates: list[float] = []
        self._start, self._samples = 0.0, 0

    def on_train_epoch_start(self, trainer, pl_module):
        self._start, self._samples = time.perf_counter(), 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._samples += len(batch[1])

    def on_train_epoch_end(self, trainer, pl_module):
        rate = self._samples / max(time.perf_counter() - self._start, 1e-9)
        self.rates.append(rate)
        pl_module.log("train_samples_per_sec", rate)

    @property
    def samples_per_sec(self) -> float:
        steady = self.rates[1:] or self.rates
        return sorted(steady)[len(steady) // 2] if steady else 0.0


class EpochLines(pl.Callback):
    """One line per epoch with its metrics, for logs that are not a terminal."""

    def on_train_epoch_end(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        shown = ("train_loss_epoch", "val_loss", "val_acc", "train_samples_per_sec")
        metrics = trainer.callback_metrics
        parts = [f"{k.removesuffix('_epoch')} {float(metrics[k]):.4g}" for k in shown if k in metrics]
        console.info(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}  " + "  ".join(parts))
