"""Export: the torch reference and the ONNX graph agree; parity tolerates reordered ties, not other changes."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch

from aiaas_recipes.recommend import export, graph
from aiaas_recipes.recommend.model import MatrixFactorization, TwoTower


def recommender(net) -> export.Recommender:
    users, items = 5, 8
    meta = {"n_users": users, "n_items": items, "max_k": 4, "user_ids": [f"u{i}" for i in range(users)],
            "item_ids": [f"i{i}" for i in range(items)]}  # fmt: skip
    indptr = np.array([0, 2, 2, 5, 6, 8])
    history = np.array([1, 3, 0, 2, 7, 5, 4, 6])
    popularity = np.full(items, 1 / items, dtype=np.float32)  # all tied: any order of the fallback is right
    return export.Recommender(net.eval(), meta, indptr, history, popularity)


def test_torch_reference_and_onnx_agree(tmp_path):
    torch.manual_seed(0)
    for net in (MatrixFactorization(5, 8, dim=4, init_std=0.5), TwoTower(5, 8, dim=4, hidden=8)):
        model = recommender(net)
        graph.write(model.tables(), tmp_path / "m.onnx", 18)
        feeds = {
            "user": np.array(["u0", "u1", "u2", "nobody", "", "u3"], dtype=object),
            "item": np.array(["", "", "", "", "i2", ""], dtype=object),
            "exclude_seen": np.array([True, True, True, True, True, False]),
        }
        want = export.reference_outputs(model, feeds)
        session = ort.InferenceSession(str(tmp_path / "m.onnx"))  # the graph alone, no aiaas metadata
        got = dict(zip(graph.OUTPUTS, session.run(list(graph.OUTPUTS), feeds)))
        parity = export.compare(want, got, 1e-4)
        assert parity.agreement == 1.0 and parity.max_abs_diff < 1e-4, type(net).__name__


def test_parity_accepts_swapped_ties_and_refuses_other_items():
    want = {"items": np.array([["a", "b", "c"]], dtype=object), "scores": np.array([[3.0, 2.0, 2.0]], "f4"),
            "known": np.array([True])}  # fmt: skip
    swapped = {**want, "items": np.array([["a", "c", "b"]], dtype=object)}
    cut_tie = {**want, "items": np.array([["a", "b", "d"]], dtype=object)}  # d tied with c at the k-th place
    other = {**want, "items": np.array([["d", "b", "c"]], dtype=object)}
    assert export.compare(want, swapped, 1e-4).agreement == 1.0
    assert export.compare(want, cut_tie, 1e-4).agreement == 1.0
    assert export.compare(want, other, 1e-4).agreement == 0.0
    assert export.compare(want, {**want, "known": np.array([False])}, 1e-4).agreement == 0.0
