"""model=item_knn: item-item cosine neighbours (implicit's CosineRecommender), and the ONNX graph that serves them.

An item scores the summed similarity to the items a user has (each item keeping its ``neighbours`` most similar
ones, chosen on validation); an item query answers the item's own neighbours. The served graph keeps the
neighbours as two (items, neighbours) tables, index and weight, so it grows with the catalogue, not its square:
the user's history (CSR, as graph.py keeps it) gathers its rows of both, and ScatterElements(reduction=add)
sums the weights into the catalogue's columns. Unknown users get the popular items; the id lookup and the
exclusions (seen items, the queried item, top-k) are graph.py's own nodes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_recipes.recommend import graph, reference
from aiaas_recipes.recommend.baselines import Scorer
from aiaas_recipes.recommend.fitted import Fitted

MIN_OPSET = 16  # ScatterElements' reduction attribute


def similarity(known: Any, neighbours: int) -> Any:
    """The (items, items) CSR of cosine similarities over users, each row keeping its ``neighbours`` best."""
    import warnings

    from implicit.nearest_neighbours import CosineRecommender
    from implicit.utils import ParameterWarning

    model = CosineRecommender(K=int(neighbours))
    with warnings.catch_warnings():  # implicit converts its own normalised COO matrix to CSR, and says so
        warnings.simplefilter("ignore", ParameterWarning)
        model.fit(known.astype(np.float32), show_progress=False)
    return model.similarity.tocsr()


def neighbour_tables(weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """(items + 1, width) neighbour indices and weights; short rows and the spare last row point at the spare
    column (``items``) with weight 0."""
    n = weights.shape[0]
    counts = np.diff(weights.indptr)
    width = max(int(counts.max(initial=0)), 1)
    index = np.full((n + 1, width), n, dtype=np.int64)
    weight = np.zeros((n + 1, width), dtype=np.float32)
    rows = np.repeat(np.arange(n), counts)
    slots = np.arange(len(weights.indices)) - np.repeat(weights.indptr[:-1], counts)
    index[rows, slots], weight[rows, slots] = weights.indices, weights.data
    return index, weight


class ItemKNN(Fitted):
    """Trains itself: the neighbour count is chosen on validation; evaluation recomputes the neighbours from the
    interactions known before the split (as the printed item-kNN baseline does), serving from all of them."""

    kind = "item_knn"

    def candidate(self, setting: dict[str, Any], train: Any) -> tuple[Scorer, Any]:
        weights = similarity(train, setting["neighbours"])
        return lambda users: (train[users] @ weights).toarray(), None

    def scorer(self, known: Any) -> Scorer:
        weights = similarity(known, self.chosen["neighbours"])
        return lambda users: (known[users] @ weights).toarray()

    def adopt(self, setting: dict[str, Any], state: Any, everything: Any) -> None:
        index, weight = neighbour_tables(similarity(everything, setting["neighbours"]))
        self.arrays.update(neighbour_index=index, neighbour_weight=weight)

    def weights(self) -> Any:
        """The served similarities back as an (items, items) CSR (the spare row and column dropped)."""
        from scipy.sparse import csr_matrix

        n = self.shape[1]
        index, weight = self.arrays["neighbour_index"][:n], self.arrays["neighbour_weight"][:n]
        rows = np.repeat(np.arange(n), index.shape[1])
        return csr_matrix((weight.ravel(), (rows, index.ravel())), shape=(n, n + 1))[:, :n].tocsr()

    def reference(self, inputs: dict) -> dict[str, np.ndarray]:
        """The graph's answers from the neighbours as a sparse matrix: a query's items (its user's history, or the
        queried item) times the similarities; the popularity row for an unknown user."""
        from scipy.sparse import csr_matrix

        a, n = self.arrays, self.shape[1]
        q = reference.queries(inputs, self.meta["user_ids"], self.meta["item_ids"])
        history = (a["history_indptr"], a["history_items"])
        spans = [history[1][history[0][u] : history[0][u + 1]] if u >= 0 and i < 0 else np.zeros(0, np.int64)
                 for u, i in zip(q.users, q.items)]  # fmt: skip
        sources = [np.asarray([i]) if i >= 0 else span for span, i in zip(spans, q.items)]
        rows = np.repeat(np.arange(len(sources)), [len(s) for s in sources])
        chosen = csr_matrix(
            (np.ones(len(rows)), (rows, np.concatenate([*sources, np.zeros(0, np.int64)]))), shape=(len(sources), n)
        )
        scores = (chosen @ self.weights()).toarray()
        unknown = ~q.user_known & ~q.item_query
        scores[unknown] = a["popularity"]
        return reference.ranked(scores, q, history, self.meta["item_ids"], int(self.meta["max_k"]))

    def write_onnx(self, path: Path, opset: int) -> None:
        import onnx

        if int(opset) < MIN_OPSET:
            from aiaas_cli.errors import ConfigError

            raise ConfigError(f"model=item_knn needs export.opset >= {MIN_OPSET}, got {opset}")
        onnx.save(build(self, int(opset)), str(path))


def _score_nodes() -> list:
    """``raw`` (batch, items + 1): the summed neighbour weights of the query's items (a user's history, or the
    queried item), on top of the popularity row for unknown users."""
    from onnx import helper as h

    return [
        h.make_node("And", ["user_known", "user_query"], ["knn_user"]),
        h.make_node("Cast", ["knn_user"], ["knn_user_int"], to=7),  # int64
        h.make_node("Add", ["user_row", "one"], ["knn_next"]),
        h.make_node("Gather", ["history_indptr", "user_row"], ["knn_start"], axis=0),
        h.make_node("Gather", ["history_indptr", "knn_next"], ["knn_end"], axis=0),
        h.make_node("Sub", ["knn_end", "knn_start"], ["knn_span"]),
        h.make_node("Mul", ["knn_span", "knn_user_int"], ["knn_length"]),
        h.make_node("ReduceMax", ["knn_length"], ["knn_longest"], keepdims=0),
        h.make_node("Range", ["zero", "knn_longest", "one"], ["knn_offsets"]),
        h.make_node("Unsqueeze", ["knn_start", "axis1"], ["knn_start_col"]),
        h.make_node("Unsqueeze", ["knn_offsets", "axis0"], ["knn_offsets_row"]),
        h.make_node("Add", ["knn_start_col", "knn_offsets_row"], ["knn_positions"]),
        h.make_node("Min", ["knn_positions", "last_history"], ["knn_safe_positions"]),
        h.make_node("Gather", ["history_items", "knn_safe_positions"], ["knn_seen"], axis=0),
        h.make_node("Unsqueeze", ["knn_length", "axis1"], ["knn_length_col"]),
        h.make_node("Less", ["knn_offsets_row", "knn_length_col"], ["knn_in_history"]),
        h.make_node("Where", ["knn_in_history", "knn_seen", "spare"], ["history_columns"]),
        h.make_node("Where", ["item_query", "item_row", "spare"], ["query_item"]),
        h.make_node("Unsqueeze", ["query_item", "axis1"], ["query_item_col"]),
        h.make_node("Concat", ["history_columns", "query_item_col"], ["sources"], axis=1),
        h.make_node("Gather", ["neighbour_index", "sources"], ["targets"], axis=0),
        h.make_node("Gather", ["neighbour_weight", "sources"], ["weights"], axis=0),
        h.make_node("Reshape", ["targets", "flat"], ["flat_targets"]),
        h.make_node("Reshape", ["weights", "flat"], ["flat_weights"]),
        # the starting row: popularity for an unknown user's query, zeros otherwise
        h.make_node("Not", ["user_known"], ["knn_unknown"]),
        h.make_node("And", ["knn_unknown", "user_query"], ["knn_popular"]),
        h.make_node("Cast", ["knn_popular"], ["knn_popular_weight"], to=1),
        h.make_node("Unsqueeze", ["knn_popular_weight", "axis1"], ["knn_popular_col"]),
        h.make_node("Mul", ["knn_popular_col", "popularity_row"], ["start_scores"]),
        h.make_node(
            "ScatterElements", ["start_scores", "flat_targets", "flat_weights"], ["raw"], axis=1, reduction="add"
        ),
    ]


def build(model: ItemKNN, opset: int):
    """The ONNX model serving a fitted ItemKNN."""
    from onnx import numpy_helper

    a, meta = model.arrays, model.meta
    popularity = np.zeros((1, len(a["popularity"]) + 1), dtype=np.float32)
    popularity[0, :-1] = a["popularity"]
    initializers = [
        numpy_helper.from_array(a["neighbour_index"].astype(np.int64), "neighbour_index"),
        numpy_helper.from_array(a["neighbour_weight"].astype(np.float32), "neighbour_weight"),
        numpy_helper.from_array(popularity, "popularity_row"),
        numpy_helper.from_array(np.asarray([0, -1], dtype=np.int64), "flat"),
        *graph.shared_initializers(meta["item_ids"], a["history_indptr"], a["history_items"], int(meta["max_k"])),
    ]
    nodes = graph.lookup_nodes(meta["user_ids"], meta["item_ids"]) + _score_nodes() + graph.exclusion_nodes()
    return graph.make_model("item-knn recommender", nodes, initializers, opset)
