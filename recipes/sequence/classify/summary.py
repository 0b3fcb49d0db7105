"""Per-sequence summary statistics: the features of the printed baseline and of model=summary_lr (one definition).

A torch module, so the same step is exported into summary_lr's ONNX graph and the served model still takes the raw
padded sequence; the baseline runs it on numpy arrays in float64.
"""

from __future__ import annotations

import numpy as np
import torch

QUANTILES = (0.1, 0.5, 0.9)  # linear interpolation between the sorted real steps, as numpy.percentile's default


class SummaryStatistics(torch.nn.Module):
    """(values (N, T, F), lengths (N,)) -> (N, 8 F + 1): per feature, over the real steps, mean, std, min, max, the
    10/50/90th percentiles and the mean size of a step; then the length. Padded steps are masked out."""

    def forward(self, values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        steps = values.shape[1]
        count = lengths.clamp(min=1, max=steps).to(torch.int64)  # an empty sequence reads its first (zero) step
        real = (torch.arange(steps, device=values.device)[None, :] < count[:, None])[:, :, None]
        n = count.to(values.dtype)[:, None]
        zero = torch.zeros_like(values)
        mean = torch.where(real, values, zero).sum(1) / n
        std = (torch.where(real, (values - mean[:, None]) ** 2, zero).sum(1) / n).sqrt()
        inf = torch.full_like(values, float("inf"))
        ordered = torch.sort(torch.where(real, values, inf), dim=1).values  # padding sorts last
        low = ordered[:, 0]
        high = _at(ordered, count - 1)
        parts = [mean, std, low, high, *(_quantile(ordered, count, q) for q in QUANTILES), _step_size(values, count)]
        return torch.cat([*parts, lengths.to(values.dtype)[:, None]], dim=1)


def _at(ordered: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Row i's value at step index[i], per feature."""
    return torch.gather(ordered, 1, index[:, None, None].expand(-1, 1, ordered.shape[2])).squeeze(1)


def _quantile(ordered: torch.Tensor, count: torch.Tensor, q: float) -> torch.Tensor:
    position = (count - 1).to(ordered.dtype) * q
    below = position.floor().to(torch.int64)
    above = torch.minimum(below + 1, count - 1)  # never a padded (infinite) step
    weight = (position - below.to(ordered.dtype))[:, None]
    low, high = _at(ordered, below), _at(ordered, above)
    return low + (high - low) * weight


def _step_size(values: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Mean |x[t+1] - x[t]| over the real steps (0 for a one-step sequence)."""
    jumps = (values[:, 1:] - values[:, :-1]).abs()
    real = (torch.arange(jumps.shape[1], device=values.device)[None, :] < (count - 1)[:, None])[:, :, None]
    total = torch.where(real, jumps, torch.zeros_like(jumps)).sum(1)
    return total / (count - 1).clamp(min=1).to(values.dtype)[:, None]


@torch.inference_mode()
def summary_statistics(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The statistics of a split's arrays, in float64 (N, 8 F + 1)."""
    x = torch.from_numpy(np.array(values, dtype=np.float64))  # a copy: the splits are read-only memory maps
    if x.shape[1] == 0:  # no steps at all: one zero step, so every row has a value to read
        x = torch.zeros(x.shape[0], 1, x.shape[2], dtype=torch.float64)
    return SummaryStatistics()(x, torch.from_numpy(np.array(lengths, dtype=np.int64))).numpy()
