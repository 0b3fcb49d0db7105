"""Forecast accuracy: MAE, RMSE, sMAPE and MASE per target, averaged over targets (and per horizon step).

MAE and RMSE come from scikit-learn and sMAPE from torchmetrics (reported in percent, 0-200). MASE is written
out here (neither library has it): the forecast's MAE divided by the MAE that the in-sample seasonal-naive
forecast makes on the training part (``mase_scale``), so 1.0 means "as good as repeating the last season".
"""

from __future__ import annotations

import numpy as np

NAMES = ("mae", "rmse", "smape", "mase")


def mase(predicted: np.ndarray, actual: np.ndarray, mase_scale: np.ndarray) -> float:
    """MASE of (windows, horizon, targets) arrays, averaged over targets."""
    errors = np.abs(np.asarray(predicted, np.float64) - np.asarray(actual, np.float64)).mean(axis=(0, 1))
    return float((errors / np.asarray(mase_scale, np.float64)).mean()) if errors.size else 0.0


def _one_target(predicted: np.ndarray, actual: np.ndarray, scale: float) -> dict[str, float]:
    import torch
    from sklearn.metrics import mean_absolute_error, root_mean_squared_error
    from torchmetrics.functional import symmetric_mean_absolute_percentage_error

    p, a = predicted.reshape(-1).astype(np.float64), actual.reshape(-1).astype(np.float64)
    mae = float(mean_absolute_error(a, p))
    smape = symmetric_mean_absolute_percentage_error(torch.from_numpy(p), torch.from_numpy(a))
    return {
        "mae": mae,
        "rmse": float(root_mean_squared_error(a, p)),
        "smape": float(smape) * 100.0,
        "mase": mae / scale,
    }


def score(predicted: np.ndarray, actual: np.ndarray, targets: list[str], mase_scale: list[float]) -> dict:
    """The four figures averaged over targets, each target's own, and the MAE at each step of the horizon."""
    per_target = {
        name: _one_target(predicted[..., k], actual[..., k], float(mase_scale[k])) for k, name in enumerate(targets)
    }
    mean = {key: float(np.mean([figures[key] for figures in per_target.values()])) for key in NAMES}
    step_mae = np.abs(predicted - actual).mean(axis=(0, 2))
    return {**mean, "per_target": per_target, "mae_by_step": step_mae.round(6).tolist()}
