"""Run a trained model over one split of the dataset dir and report its metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.audio_cls.datamodule import load_split
from aiaas_recipes.audio_cls.pooled import PooledLR, pooled_statistics
from aiaas_recipes.common.classification import classification_report
from aiaas_recipes.common.report import baseline_entry
from aiaas_recipes.common.summary_lr import make_model

BASELINE = "logistic regression on pooled log-mels"
BASELINE_ITER = 2000  # as conf/model/pooled_lr.yaml: the printed baseline is model=pooled_lr's default fit


@torch.inference_mode()
def predict_logits(network: torch.nn.Module, mels: np.ndarray, batch_size: int = 256) -> np.ndarray:
    network.eval()
    # np.array: a copy of the (read-only, memory-mapped) rows, which torch will not wrap quietly
    starts = range(0, len(mels), batch_size)
    parts = [network(torch.from_numpy(np.array(mels[i : i + batch_size]))).numpy() for i in starts]
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def evaluate_split(network: torch.nn.Module | PooledLR, dataset_dir: Path, manifest: dict, split: str) -> dict:
    mels, labels = load_split(dataset_dir, split)
    if not len(labels):
        preds = np.zeros(0, np.int64)
    elif isinstance(network, PooledLR):
        preds = network.predict(mels)
    else:
        preds = predict_logits(network, mels).argmax(-1)
    report = classification_report(labels, preds, manifest["classes"])
    report["baseline"] = baseline(dataset_dir, manifest, split)
    return report


def baseline(dataset_dir: Path, manifest: dict, split: str) -> dict:
    """Logistic regression on each clip's mean and std log-mel (time pooled): what a model without any
    time-frequency pattern reaches. The same features and fit as model=pooled_lr."""

    def pooled(mels: np.ndarray) -> np.ndarray:
        if mels.ndim == 2:  # a hub model's waveforms: the baseline still sees log-mels (the recipe's default front)
            mels = log_mels(mels, int(manifest["rate"]))
        return pooled_statistics(mels)

    train_x, train_y = load_split(dataset_dir, "train")
    test_x, test_y = load_split(dataset_dir, split)
    model = make_model(max_iter=BASELINE_ITER, seed=None)
    model.fit(pooled(train_x), train_y)
    preds = model.predict(pooled(test_x)) if len(test_y) else np.zeros(0, np.int64)
    report = classification_report(test_y, preds, manifest["classes"])
    return baseline_entry(BASELINE, report, ("accuracy", "macro_f1"))


def log_mels(waveforms: np.ndarray, rate: int) -> np.ndarray:
    """40 log-mels of 25 ms windows every 10 ms, as the recipe's own model hears them."""
    from aiaas_recipes.common.audio.features import log_mel

    win, hop = round(0.025 * rate), round(0.010 * rate)
    return log_mel(waveforms, rate, 40, win, hop, max(512, 1 << (win - 1).bit_length()))
