"""The baselines scored beside the model: most-popular, and item-item nearest neighbours (scikit-learn)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Scorer = Callable[[np.ndarray], np.ndarray]  # user indices -> (users, items) scores


def most_popular(known: Any) -> Scorer:
    """Every user gets the items with the most interactions in ``known`` (CSR users x items)."""
    counts = np.asarray(known.sum(axis=0), dtype=np.float32).ravel()
    return lambda users: np.broadcast_to(counts, (len(users), len(counts)))


def item_knn(known: Any, neighbours: int) -> Scorer:
    """Item-based collaborative filtering: an item scores the summed cosine similarity (over users) to the
    items a user has, each item keeping its ``neighbours`` most similar ones."""
    from scipy.sparse import csr_matrix
    from sklearn.neighbors import NearestNeighbors

    by_item = known.T.tocsr()
    n_items = by_item.shape[0]
    count = min(neighbours + 1, n_items)
    finder = NearestNeighbors(n_neighbors=count, metric="cosine", algorithm="brute").fit(by_item)
    distance, index = finder.kneighbors(by_item)
    rows = np.repeat(np.arange(n_items), count)
    similarity = 1.0 - distance.ravel()
    keep = (index.ravel() != rows) & (similarity > 0)  # not itself; items with no users are nobody's neighbour
    weights = csr_matrix((similarity[keep], (rows[keep], index.ravel()[keep])), shape=(n_items, n_items))
    return lambda users: (known[users] @ weights).toarray()
