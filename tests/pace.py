"""Callbacks for tests: a fixed pace (so a test can signal or kill a run mid-epoch on time), a failing trial.

The tests put this folder on PYTHONPATH of the `aiaas` subprocess they start (`+trainer.callbacks.pace._target_=`).
"""

from __future__ import annotations

import time

import pytorch_lightning as pl


class Pace(pl.Callback):
    """Sleep ``seconds`` after every training batch (it draws no random numbers: the run's result is unchanged)."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        time.sleep(self.seconds)


class Boom(pl.Callback):
    """Fail at the start of training, as a broken trial does."""

    def __init__(self, seconds: float = 0.0):  # the same arguments as Pace, so a sweep can choose between them
        self.seconds = seconds

    def on_train_start(self, trainer, pl_module):
        raise RuntimeError("boom: this trial fails on purpose")
