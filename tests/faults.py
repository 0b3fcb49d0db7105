"""Faults injected from inside a training run, as extra Lightning callbacks (`+trainer.callbacks.NAME._target_=...`).

The tests put this folder on PYTHONPATH of the `aiaas` subprocess they start, so the config can name these classes.
"""

from __future__ import annotations

import os
import resource
import signal
import time
from pathlib import Path

import pytorch_lightning as pl


class KillGroupAtEpoch(pl.Callback):
    """SIGKILL process group ``pgid`` (a tracking server) at the end of epoch ``epoch``; the time goes to ``stamp``."""

    def __init__(self, pgid: int, epoch: int, stamp: str):
        self.pgid, self.epoch, self.stamp = int(pgid), int(epoch), Path(stamp)

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch + 1 == self.epoch:
            os.killpg(self.pgid, signal.SIGKILL)
            self.stamp.write_text(str(time.time()))


class FileSizeLimitAfterEpoch(pl.Callback):
    """From the end of epoch ``epoch`` on (before that epoch's checkpoint is saved: Lightning runs ModelCheckpoint
    last), no file may grow past ``limit`` bytes, so that checkpoint cannot be written.

    SIGXFSZ is ignored so that the write returns EFBIG (as a full disk returns ENOSPC) instead of killing the process.
    """

    def __init__(self, epoch: int, limit: int):
        self.epoch, self.limit = int(epoch), int(limit)

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch + 1 == self.epoch:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def limit_file_size(limit: int):
    """A ``preexec_fn`` for subprocess: files the child writes may not grow past ``limit`` bytes."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    return apply
