"""The served ONNX graph against a plain numpy reference, and the torch-free adapter around it."""

from __future__ import annotations

import numpy as np
import pytest

from aiaas_cli.serving.runtime import BadInput, OnnxModel, Predictor
from aiaas_cli.stages.export import embed_metadata
from aiaas_recipes.recommend import graph, serving

USERS, ITEMS, DIM, MAX_K = 6, 9, 4, 5
HISTORY = {0: [1, 4], 1: [], 2: [0, 1, 2, 3, 5, 6, 7], 3: [8], 4: [2], 5: [3, 4]}


@pytest.fixture(scope="module")
def tables() -> graph.Tables:
    rng = np.random.default_rng(0)
    rows = [HISTORY[u] for u in range(USERS)]
    popularity = rng.random(ITEMS).astype(np.float32)
    return graph.Tables(
        user_ids=[f"u{i}" for i in range(USERS)], item_ids=[f"i{i}" for i in range(ITEMS)],
        users=rng.normal(size=(USERS, DIM)).astype(np.float32), items=rng.normal(size=(ITEMS, DIM)).astype(np.float32),
        bias=rng.normal(size=ITEMS).astype(np.float32), popularity=popularity / popularity.sum(),
        history_indptr=np.cumsum([0, *map(len, rows)]).astype(np.int64),
        history_items=np.concatenate([np.asarray(r, dtype=np.int64) for r in rows]), max_k=MAX_K,
    )  # fmt: skip


@pytest.fixture(scope="module")
def model_path(tables, tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "model.onnx"
    graph.write(tables, path, 18)
    metadata = {"recipe": "recommend", "serving_module": "aiaas_recipes.recommend.serving", "max_k": MAX_K}
    embed_metadata(path, {**metadata, "input_names": list(graph.INPUTS), "output_names": list(graph.OUTPUTS)})
    return path


def expected(t: graph.Tables, user: str, item: str, exclude: bool) -> tuple[list[str], np.ndarray, bool]:
    """Top items and scores the graph should give, computed plainly."""
    if item in t.item_ids:
        i = t.item_ids.index(item)
        scores = t.items @ t.items[i] / (np.linalg.norm(t.items, axis=1) * np.linalg.norm(t.items[i]))
        scores[i] = -np.inf
    elif user in t.user_ids:
        u = t.user_ids.index(user)
        scores = t.items @ t.users[u] + t.bias
        if exclude:
            scores[HISTORY[u]] = -np.inf
    else:
        scores = t.popularity.astype(np.float64).copy()
    order = np.argsort(-scores, kind="stable")[:MAX_K]
    known = item in t.item_ids or user in t.user_ids
    return [t.item_ids[j] for j in order], scores[order], known


QUERIES = [
    ("u0", "", True), ("u1", "", True), ("u2", "", True), ("u2", "", False), ("nobody", "", True),
    ("", "i3", True), ("u3", "", True), ("", "unknown", True),
]  # fmt: skip


def test_graph_matches_the_reference_for_a_mixed_batch(tables, model_path):
    feeds = {
        "user": np.asarray([q[0] for q in QUERIES], dtype=object),
        "item": np.asarray([q[1] for q in QUERIES], dtype=object),
        "exclude_seen": np.asarray([q[2] for q in QUERIES]),
    }
    out = OnnxModel(model_path).run(feeds)
    assert out["items"].shape == (len(QUERIES), MAX_K)
    for row, query in enumerate(QUERIES):
        items, scores, known = expected(tables, *query)
        assert bool(out["known"][row]) == known, query
        finite = np.isfinite(scores)
        assert np.array_equal(np.isfinite(out["scores"][row]), finite), query
        assert np.allclose(out["scores"][row][finite], scores[finite], atol=1e-5), query
        assert list(out["items"][row][finite]) == [i for i, f in zip(items, finite) if f], query


def test_each_row_alone_gives_the_same_answer_as_in_a_batch(model_path):
    predictor = Predictor(model_path)
    payloads = [{"user": "u2"}, {"user": "u0", "exclude_seen": False}, "nobody", {"item": "i1"}]
    together = predictor.predict(payloads, k=3)
    assert together == [predictor.predict([p], k=3)[0] for p in payloads]


def test_adapter_answers(model_path):
    predictor = Predictor(model_path)
    seen, all_items, unknown, similar, missing = predictor.predict(
        [{"user": "u2"}, {"user": "u2", "exclude_seen": False}, "nobody", {"item": "i3"}, {"item": "zz"}], k=3
    )
    assert {i["item"] for i in seen["items"]} == {"i4", "i8"}  # u2 saw 7 of 9 items: only 2 are left
    assert seen["fallback"] is None and len(all_items["items"]) == 3
    assert unknown["fallback"] == serving.FALLBACK and len(unknown["items"]) == 3
    assert similar["found"] and "i3" not in [i["item"] for i in similar["items"]]
    assert missing == {"item": "zz", "items": [], "found": False}
    assert len(predictor.predict(["u1"], k=1000)[0]["items"]) == MAX_K  # k is bounded by the graph's max_k
    row = predictor.to_row("users.txt:1", "u1", predictor.predict(["u1"], k=2)[0])
    assert row["input"] == "users.txt:1" and row["top_item"] == row["items"][0]["item"]


@pytest.mark.parametrize(
    "payload", [42, "", "   ", {"user": 1}, {"user": "u1", "item": "i1"}, {}, {"user": "u1", "exclude_seen": "yes"},
                {"user": "x" * 300}],
)  # fmt: skip
def test_bad_queries_are_refused(payload):
    adapter = serving.build_adapter({"max_k": MAX_K})
    with pytest.raises(BadInput) as caught:
        adapter.decode(payload)
    assert caught.value.status == 422


def test_read_inputs_gives_one_user_per_line(tmp_path):
    (tmp_path / "users.txt").write_text("u1\n\n  u2  \n")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00")
    rows = list(serving.read_inputs([tmp_path / "users.txt", tmp_path / "bad.txt", tmp_path / "missing.txt"]))
    assert rows[:2] == [(f"{tmp_path / 'users.txt'}:1", "u1"), (f"{tmp_path / 'users.txt'}:3", "u2")]
    assert all(isinstance(payload, Exception) for _, payload in rows[2:]) and len(rows) == 4
    assert serving.http_request("x", "u1", 7) == {"json": {"user": "u1", "k": 7}}
