"""Logits to labelled scores (numpy only): the post-processing every classification adapter shares."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def top_k(probabilities: np.ndarray, labels: list[str], k: int) -> list[list[dict]]:
    """Per row: the k best labels with their scores, best first."""
    k = max(1, min(k, len(labels)))
    order = np.argsort(-probabilities, axis=-1)[:, :k]
    return [[{"label": labels[j], "score": float(row[j])} for j in idx] for row, idx in zip(probabilities, order)]
