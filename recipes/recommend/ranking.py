"""Ranking metrics at k over the whole catalogue, from each user's top-k list (numpy, scipy.sparse).

Every item is scored (no sampled candidate set, which inflates figures) and the items a user already saw are
excluded before the top k are taken. The metrics are computed from the top-k lists, O(users x k), instead of
the full users x items score matrix that torchmetrics' retrieval metrics take: that matrix does not fit in
memory for a real catalogue. tests/recipes/recommend/test_ranking.py checks them against torchmetrics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

CHUNK = 512  # users scored at once: CHUNK x items floats


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores of each row, best first (ties: lower index first)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part.sort(axis=1)  # so that equal scores keep index order
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def rank(score: Callable[[np.ndarray], np.ndarray], users: np.ndarray, seen: Any, k: int) -> np.ndarray:
    """Each user's top-k items: ``score(users)`` -> (users, items) scores, ``seen`` (CSR users x items)
    excluded."""
    tops = []
    for lo in range(0, len(users), CHUNK):
        chunk = users[lo : lo + CHUNK]
        scores = np.array(score(chunk), dtype=np.float32, copy=True)
        rows = seen[chunk]
        scores[np.repeat(np.arange(len(chunk)), np.diff(rows.indptr)), rows.indices] = -np.inf
        tops.append(top_k(scores, k))
    return np.concatenate(tops) if tops else np.zeros((0, k), dtype=np.int64)


def metrics(top: np.ndarray, relevant: Any, n_items: int, k: int) -> dict[str, float]:
    """recall, ndcg, map and catalogue coverage at ``k``; ``relevant`` (CSR, one row per row of ``top``).

    recall@k: share of a user's relevant items in the top k; ndcg@k: binary-relevance DCG over the ideal one;
    map@k: precision at each hit, summed over min(relevant, k); coverage: share of the catalogue recommended
    to anyone. Each is averaged over users with at least one relevant item.
    """
    top = top[:, :k]
    counts = np.diff(relevant.indptr)
    users = np.flatnonzero(counts > 0)
    if len(users) == 0:
        return {"recall": 0.0, "ndcg": 0.0, "map": 0.0, "coverage": 0.0, "users": 0}
    hits = np.take_along_axis(relevant[users].toarray() > 0, top[users], axis=1).astype(np.float64)
    n_rel = counts[users].astype(np.float64)
    discount = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))
    ideal = np.cumsum(discount)[np.minimum(n_rel, top.shape[1]).astype(np.int64) - 1]
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, top.shape[1] + 1)
    return {
        "recall": float(np.mean(hits.sum(1) / n_rel)),
        "ndcg": float(np.mean((hits * discount).sum(1) / ideal)),
        "map": float(np.mean((precision_at * hits).sum(1) / np.minimum(n_rel, top.shape[1]))),
        "coverage": float(len(np.unique(top[users])) / n_items),
        "users": int(len(users)),
    }
