"""model=pooled_lr: logistic regression on each clip's time-pooled log-mels, the printed baseline made servable.

One definition of the features (`PooledStatistics`: per mel band, the mean and the std over time) for the printed
baseline and the candidate. A torch module, so the same step is exported into the candidate's ONNX graph ahead of
skl2onnx's scaler and logistic regression (common/summary_lr): the served model takes the recipe's own "features"
input [batch, n_mels, frames] and answers "logits", as the network does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from aiaas_cli.errors import UserError
from aiaas_recipes.audio_cls.datamodule import load_split
from aiaas_recipes.common import summary_lr as common

TARGET = "aiaas_recipes.audio_cls.pooled.PooledLR"
CHUNK = 1024  # clips per float64 copy: a split is read in pieces, not copied whole


class PooledStatistics(torch.nn.Module):
    """(N, n_mels, frames) -> (N, 2 n_mels): per band, the mean then the (population) std over time."""

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        mean = mels.mean(2)
        std = ((mels - mean[:, :, None]) ** 2).mean(2).sqrt()
        return torch.cat([mean, std], dim=1)


@torch.inference_mode()
def pooled_statistics(mels: np.ndarray) -> np.ndarray:
    """The pooled features of (N, n_mels, frames) log-mels, in float64."""
    step = PooledStatistics()
    parts = [step(torch.from_numpy(np.array(mels[i : i + CHUNK], dtype=np.float64))).numpy()
             for i in range(0, len(mels), CHUNK)]  # fmt: skip
    return np.concatenate(parts) if parts else np.zeros((0, 2 * mels.shape[1]))


class PooledLR(common.StatisticsLR):
    name = "pooled_lr"
    input_names = ("features",)
    examples = "clips"

    def fit(self, dataset_dir: Path, manifest: dict) -> dict[str, float]:
        """Train on the train split; validation loss and accuracy named as the networks log them."""
        if manifest.get("input") == "waveform":
            raise UserError("model=pooled_lr needs log-mel features; this dataset holds waveforms (model=hf's)",
                            "preprocess again with model=pooled_lr")  # fmt: skip
        return self.fit_arrays(load_split(dataset_dir, "train"), load_split(dataset_dir, "val"))

    def statistics(self, mels: np.ndarray) -> np.ndarray:
        return pooled_statistics(mels)

    def statistics_graph(self, opset: int) -> Any:
        """The pooling step as ONNX, float32, batch axis symbolic (the service fits every clip to ``frames``)."""
        example = (torch.zeros(2, int(self.meta["n_mels"]), int(self.meta["frames"])),)
        axes = {self.input_names[0]: {0: "batch"}}
        return common.traced_graph(PooledStatistics(), example, list(self.input_names), axes, opset)


def is_pooled_lr(model_cfg: Any) -> bool:
    return model_cfg.get("_target_") == TARGET


def load(path: Path) -> tuple[PooledLR, dict]:
    """A saved pooled_lr, read with skops trusting scikit-learn's default types only (no pickled code)."""
    return common.load(PooledLR, path)
