"""Parity in the task's terms: ONNX Runtime's outputs against the trained model's, judged as the user receives them.

Each helper returns a Parity whose agreement is the share of samples (pixels, for masks) that would get the same
answer, whose ``worst`` names the sample that differs most, and whose max_abs_diff is only reported: raw values
differ by CPU kernel (AVX2, AVX-512, a fused convolution) long before any answer does. Torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aiaas_cli.recipe_api import Parity


def max_abs(want: np.ndarray, got: np.ndarray) -> float:
    """The largest |difference|, the reported raw figure (0 for empty outputs)."""
    want, got = np.asarray(want, np.float64), np.asarray(got, np.float64)
    return float(np.abs(want - got).max(initial=0.0))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def top1(want: np.ndarray, got: np.ndarray, score_tolerance: float, logits: bool = True) -> Parity:
    """Classification: a row agrees when its best class is the same and every class probability is within
    ``score_tolerance`` (the scores the user is shown). ``logits``: the outputs still need a softmax."""
    want, got = np.asarray(want, np.float64), np.asarray(got, np.float64)
    if len(want) == 0:
        return Parity(0.0, 1.0, 0, "top1_agreement", setting="score_tolerance")
    p_want, p_got = (softmax(want), softmax(got)) if logits else (want, got)
    gap = np.abs(p_want - p_got).reshape(len(want), -1).max(axis=1)
    best_want, best_got = p_want.argmax(-1), p_got.argmax(-1)
    agree = (best_want == best_got) & (gap <= score_tolerance)
    worst = ""
    if not agree.all():
        i = int(np.argmax(np.where(agree, -1.0, gap + (best_want != best_got))))
        a, b = int(best_want[i]), int(best_got[i])
        worst = (f"sample {i}: class {a} ({p_want[i, a]:.3f}) became class {b} ({p_got[i, b]:.3f}), "
                 f"probabilities differ by up to {gap[i]:.3g} (export.score_tolerance)")  # fmt: skip
    return Parity(max_abs(want, got), float(agree.mean()), len(want), "top1_agreement", worst, "score_tolerance")


def excess(want: np.ndarray, got: np.ndarray, tolerance: float) -> np.ndarray:
    """Per row: its largest |difference| over the allowed one, ``tolerance`` x max(1, |value|) (<= 1: within)."""
    want, got = np.asarray(want, np.float64), np.asarray(got, np.float64)
    allowed = max(float(tolerance), 1e-12) * np.maximum(1.0, np.abs(want))
    return (np.abs(want - got) / allowed).reshape(len(want), -1).max(axis=1, initial=0.0)


def within(want: np.ndarray, got: np.ndarray, tolerance: float, what: str = "value") -> Parity:
    """Values (regression, forecasts): a row agrees when each value is within ``tolerance`` relative to
    max(1, |value|), so a large target's own float32 rounding does not count."""
    want, got = np.asarray(want, np.float64), np.asarray(got, np.float64)
    if len(want) == 0:
        return Parity(0.0, 1.0, 0, "within_tolerance", setting="tolerance")
    ratio = excess(want, got, tolerance)
    worst = ""
    if (ratio > 1).any():
        i = int(ratio.argmax())
        rows_want, rows_got = want.reshape(len(want), -1), got.reshape(len(got), -1)
        j = int(np.abs(rows_want[i] - rows_got[i]).argmax())
        worst = (f"sample {i}: {what} {rows_want[i, j]:.6g} became {rows_got[i, j]:.6g}, "
                 f"{ratio[i]:.3g}x export.tolerance={tolerance} (relative)")  # fmt: skip
    return Parity(max_abs(want, got), float((ratio <= 1).mean()), len(want), "within_tolerance", worst, "tolerance")


def pixels(want: np.ndarray, got: np.ndarray) -> Parity:
    """Segmentation: the share of pixels whose class (argmax over axis 1 of (N, C, H, W) logits) is the same."""
    want, got = np.asarray(want, np.float64), np.asarray(got, np.float64)
    if len(want) == 0:
        return Parity(0.0, 1.0, 0, "pixel_agreement")
    same = want.argmax(1) == got.argmax(1)
    per_image = same.reshape(len(same), -1).mean(axis=1)
    i = int(per_image.argmin())
    worst = "" if same.all() else f"image {i}: {int((~same[i]).sum())} of {same[i].size} pixels changed class"
    return Parity(max_abs(want, got), float(same.mean()), len(want), "pixel_agreement", worst)


def sequences(want: Sequence, got: Sequence, name: str, raw: float = 0.0) -> Parity:
    """Sequence answers (tags, transcripts, durations): a sample agrees when its whole sequence is the same."""
    same = [bool(np.array_equal(np.asarray(a), np.asarray(b))) for a, b in zip(want, got, strict=True)]
    worst = ""
    if not all(same):
        i = same.index(False)
        a, b = np.asarray(want[i]).reshape(-1), np.asarray(got[i]).reshape(-1)
        shared = min(len(a), len(b))
        at = next((j for j in range(shared) if a[j] != b[j]), shared)
        worst = f"sample {i} differs from position {at}: {a[at : at + 5].tolist()} became {b[at : at + 5].tolist()}"
    return Parity(raw, float(np.mean(same)) if same else 1.0, len(same), name, worst)
