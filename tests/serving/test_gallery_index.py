"""The vector index: the int8 graph's candidates are scored again exactly, so the order and the similarities are
those of an exact float search; the float copies follow adds and removals."""

from __future__ import annotations

import numpy as np

from aiaas_cli.serving.gallery_index import Rescorer, VectorIndex


def unit(rows: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_search_answers_as_an_exact_search_does():
    vectors, queries = unit(3000, 32, 0), unit(200, 32, 1)
    index = VectorIndex(32)
    index.add(np.arange(3000, dtype=np.uint64), vectors, threads=1)  # one thread: the same graph every run
    exact = queries @ vectors.T
    found = index.search_many(queries, 5)
    first = np.array([exact[i, int(keys[0])] for i, (keys, _) in enumerate(found)])
    assert np.all(first >= exact.max(axis=1) - 2e-3)  # the nearest, or one tied with it within float16 rounding
    for (keys, scores), row in zip(found, exact):
        assert np.all(np.diff(scores) <= 0)
        np.testing.assert_allclose(scores, row[keys.astype(np.int64)], atol=2e-3)  # float16 copies
    keys, scores = index.search(vectors[7], 1)
    assert keys.tolist() == [7] and abs(scores[0] - 1.0) < 1e-5


def test_rescorer_reuses_the_rows_of_removed_keys_and_forgets_them():
    store, vectors = Rescorer(4), unit(3, 4, 2)
    store.hold(np.array([10, 11], dtype=np.uint64), vectors[:2])
    store.drop(np.array([10, 99], dtype=np.uint64))  # an unknown key is ignored
    store.hold(np.array([12], dtype=np.uint64), vectors[2:])
    assert store.rows == {11: 1, 12: 0}
    keys, scores = store.best(vectors[2], np.array([10, 11, 12], dtype=np.uint64), 5)
    assert keys.tolist() == [12, 11] and abs(scores[0] - 1.0) < 1e-5
