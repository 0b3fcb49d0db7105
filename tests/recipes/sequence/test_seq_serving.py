"""seq-cls serving (torch-free): request sequences checked with messages that name the problem, padded batches,
and files read for `aiaas predict`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.sequence.classify import serving

META = {"labels": ["down", "up"], "features": ["ax", "gy"], "max_length": 4}


@pytest.fixture()
def adapter():
    return serving.build_adapter(META, max_steps=50)


def test_variable_lengths_pad_to_the_model_length(adapter):
    items = [adapter.decode([[1, 2], [3, 4]]), adapter.decode([[0, 0]] * 6)]
    feeds = adapter.batch(items)
    assert feeds["sequence"].shape == (2, 4, 2) and feeds["lengths"].tolist() == [2, 4]
    assert feeds["sequence"][0, 2:].tolist() == [[0, 0], [0, 0]]
    assert adapter.extras(items[1]) == {"steps": 6, "truncated": True}
    out = adapter.postprocess({"logits": np.array([[0.0, 2.0], [1.0, 0.0]])}, items, k=1)
    assert out[0]["predictions"][0]["label"] == "up" and out[0]["truncated"] is False


def test_columns_name_the_values_of_each_row(adapter):
    item = adapter.decode({"sequence": [[9, 1, 2]], "columns": ["extra", "gy", "ax"]})
    assert item.values.tolist() == [[2, 1]]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "non-empty list"),
        ("abc", "non-empty list"),
        ([[1, 2], [3]], r"sequence\[1\] has 1 values; the model takes 2 feature\(s\): ax, gy"),
        ([[1, float("nan")]], r"sequence\[0\]\[1\] \(gy\) is nan"),
        ([[float("inf"), 1]], r"\(ax\) is inf"),
        ([[1, "x"]], "not a number"),
        ([[1, True]], "not a number"),
        ([1, 2, 3], "must be a list of 2 numbers"),
        ([[1, 2]] * 51, "above the limit of 50"),
        ({"sequence": [[1, 2]], "columns": ["ax"]}, "lack the model's feature"),
    ],
)
def test_bad_sequences_are_422_naming_the_problem(adapter, payload, message):
    with pytest.raises(BadInput, match=message) as caught:
        adapter.decode(payload)
    assert caught.value.status == 422


def test_one_feature_takes_a_flat_list():
    adapter = serving.build_adapter({**META, "features": ["x"]})
    assert adapter.decode([1, 2.5]).values.tolist() == [[1.0], [2.5]]


def test_files_for_predict(tmp_path, adapter):
    (tmp_path / "walk.csv").write_text("time,gy,ax,note\n2,0.2,3,b\n1,0.1,1,a\n3,,5,c\n")
    np.save(tmp_path / "run.npy", np.ones((3, 2)))
    (tmp_path / "many.jsonl").write_text(json.dumps({"sequence": [[1, 2]]}) + "\n\n" + json.dumps([[3, 4]]) + "\n")
    (tmp_path / "bad.npy").write_bytes(b"nope")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    found = dict(serving.read_inputs(sorted(tmp_path.iterdir())))
    assert set(found) == {str(tmp_path / n) for n in ("walk.csv", "run.npy", "bad.npy", "photo.png")} | {
        f"{tmp_path / 'many.jsonl'}:1", f"{tmp_path / 'many.jsonl'}:3"}  # fmt: skip
    walk = found[str(tmp_path / "walk.csv")]
    assert walk["columns"] == ["gy", "ax", "note"]
    # in time order, features by name, the empty cell filled from its neighbour (as in training)
    assert np.allclose(adapter.decode(walk).values, [[1, 0.1], [3, 0.2], [5, 0.2]]) and walk["filled"] == 1
    row = serving.to_row("walk.csv", walk, {"predictions": [{"label": "up", "score": 0.9}]})
    assert row["label"] == "up" and row["filled"] == 1
    assert adapter.decode(found[str(tmp_path / "run.npy")]).values.shape == (3, 2)
    assert isinstance(found[str(tmp_path / "bad.npy")], BadInput)
    assert isinstance(found[str(tmp_path / "photo.png")], BadInput)
    assert serving.http_request("x", walk, 2)["json"] == {
        "sequence": walk["sequence"],
        "columns": walk["columns"],
        "k": 2,
    }


def test_a_long_table_gives_one_sequence_per_id(tmp_path, adapter):
    (tmp_path / "runs.csv").write_text("run,ts,ax,gy,activity\nr1,1,1,0,up\nr2,0,5,5,\nr1,0,0,0,up\nr2,1,6,6,\n")
    found = list(serving.read_inputs([tmp_path / "runs.csv"]))
    found = dict((name.rsplit(":", 1)[-1], payload) for name, payload in found)
    assert sorted(found) == ["run=r1", "run=r2"]
    assert adapter.decode(found["run=r1"]).values.tolist() == [[0, 0], [1, 0]]  # its rows in time order
