"""model=summary_lr: logistic regression on per-sequence summary statistics, as an `Estimator`.

The estimator, its skops file and its one ONNX graph are common/summary_lr's; this module gives it the served model's
inputs ("sequence", "lengths"), the summary step (the torch module of `summary`) and the split arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_recipes.common import summary_lr as common
from aiaas_recipes.sequence.classify.summary import summary_statistics
from aiaas_recipes.sequence.classify.training import load_split

TARGET = "aiaas_recipes.sequence.classify.summary_lr.SummaryLR"


class SummaryLR(common.StatisticsLR):
    name = "summary_lr"
    input_names = ("sequence", "lengths")
    examples = "sequences"

    def fit(self, dataset_dir: Path, manifest: dict) -> dict[str, float]:
        """Train on the train split; validation loss and accuracy named as the networks log them."""
        return self.fit_arrays(load_split(dataset_dir, "train"), load_split(dataset_dir, "val"))

    def statistics(self, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return summary_statistics(values, lengths)

    def statistics_graph(self, opset: int) -> Any:
        """The summary step as ONNX, float32, batch and time axes symbolic."""
        import torch

        from aiaas_recipes.sequence.classify.summary import SummaryStatistics

        example = (torch.randn(2, 5, len(self.meta["features"])), torch.tensor([5, 2]))
        axes = {"sequence": {0: "batch", 1: "time"}, "lengths": {0: "batch"}}
        return common.traced_graph(SummaryStatistics(), example, list(self.input_names), axes, opset)


def is_summary_lr(model_cfg: Any) -> bool:
    return model_cfg.get("_target_") == TARGET


def load(path: Path) -> tuple[SummaryLR, dict]:
    """A saved summary_lr, read with skops trusting scikit-learn's default types only (no pickled code)."""
    return common.load(SummaryLR, path)
