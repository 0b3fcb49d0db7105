"""What a served graph computes, in plain numpy: the reference that the export's parity check compares ONNX with.

`ranked` is the part every recommend graph shares (seen items and the queried item excluded, top ``max_k``);
`tables_outputs` scores the way graph.py does (user . item + bias, popularity for unknown users, cosine for an
item query). item-kNN's scores come from knn.py, then go through `ranked` too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aiaas_recipes.recommend.ranking import top_k

EPS = 1e-12  # as graph.EPS (graph.py imports onnx lazily; this module must not need it)


@dataclass
class Queries:
    """The feeds as row indices: -1 for an id the model does not know."""

    users: np.ndarray
    items: np.ndarray
    exclude: np.ndarray

    @property
    def item_query(self) -> np.ndarray:
        return self.items >= 0

    @property
    def user_known(self) -> np.ndarray:
        return self.users >= 0


def queries(inputs: dict, user_ids: list[str], item_ids: list[str]) -> Queries:
    user_index = {u: i for i, u in enumerate(user_ids)}
    item_index = {v: i for i, v in enumerate(item_ids)}
    return Queries(
        users=np.asarray([user_index.get(u, -1) for u in inputs["user"]], dtype=np.int64),
        items=np.asarray([item_index.get(v, -1) for v in inputs["item"]], dtype=np.int64),
        exclude=np.asarray(inputs["exclude_seen"], dtype=bool),
    )


def ranked(scores: np.ndarray, q: Queries, history: tuple[np.ndarray, np.ndarray], item_ids: list[str],
           max_k: int) -> dict[str, np.ndarray]:  # fmt: skip
    """The graph's outputs from (queries, items) scores: history set to -inf where asked, an item query's item
    too, then the best ``max_k`` (ties: lower index first, as ONNX TopK)."""
    indptr, items = history
    scores = np.array(scores, dtype=np.float32, copy=True)
    for row in np.flatnonzero(q.exclude & q.user_known & ~q.item_query):
        u = q.users[row]
        scores[row, items[indptr[u] : indptr[u + 1]]] = -np.inf
    for row in np.flatnonzero(q.item_query):
        scores[row, q.items[row]] = -np.inf
    top = top_k(scores, min(max_k, len(item_ids)))
    return {
        "items": np.asarray(item_ids, dtype=object)[top],
        "scores": np.take_along_axis(scores, top, axis=1),
        "known": q.user_known | q.item_query,
    }


def tables_outputs(t, inputs: dict) -> dict[str, np.ndarray]:
    """graph.py's outputs for ``t`` (a graph.Tables), computed plainly."""
    q = queries(inputs, t.user_ids, t.item_ids)
    users, items = t.users.astype(np.float64), t.items.astype(np.float64)
    query = np.where(q.item_query[:, None], items[q.items.clip(min=0)], users[q.users.clip(min=0)])
    raw = query @ items.T
    cosine = raw / (np.linalg.norm(query, axis=1, keepdims=True) * np.linalg.norm(items, axis=1) + EPS)
    scores = np.where(q.user_known[:, None], raw + t.bias, t.popularity[None, :])
    scores = np.where(q.item_query[:, None], cosine, scores)
    return ranked(scores, q, (t.history_indptr, t.history_items), t.item_ids, t.max_k)
