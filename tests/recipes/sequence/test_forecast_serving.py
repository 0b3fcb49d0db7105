"""forecast serving (torch-free): histories checked with messages that name the problem, scaled windows in,
forecasts back in the series' units, and files read for `aiaas predict`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.sequence.forecast import serving
from aiaas_recipes.sequence.forecast.scaling import denormalise, fit_scale, normalise

META = {"targets": ["visits"], "covariates": [], "context_length": 4, "horizon": 2, "scale": [2.0]}
WITH_PROMO = {**META, "covariates": ["promo"], "scale": [2.0, 1.0]}


def test_scaling_round_trip():
    context = np.array([[[10.0, 1.0], [12.0, 0.0], [14.0, 1.0]]])
    scaled, level = normalise(context, np.array([2.0, 0.5]))
    assert scaled[0, :, 0].tolist() == [-1, 0, 1] and level.tolist() == [[12.0, 2 / 3]]
    assert denormalise(scaled[:, :2, :1], level, np.array([2.0, 0.5]))[0, :, 0].tolist() == [10.0, 12.0]
    assert fit_scale(np.array([[0.0], [2.0], [0.0], [2.0]]), 2)[0] == pytest.approx(1.0)


def test_the_last_context_is_forecast_in_the_series_units():
    adapter = serving.build_adapter(META)
    item = adapter.decode({"history": [0, 0, 100, 102, 104, 106]})
    feeds = adapter.batch([item])
    assert feeds["context"][0, :, 0].tolist() == pytest.approx([-1.5, -0.5, 0.5, 1.5])
    out = adapter.postprocess({"forecast": np.array([[[2.0], [2.5]]], dtype=np.float32)}, [item], k=1)
    assert out == [{"forecast": [107.0, 108.0], "targets": ["visits"], "horizon": 2, "history_steps": 6}]


@pytest.mark.parametrize(
    ("meta", "payload", "message"),
    [
        (META, {"history": [1, 2, 3]}, r"history has 3 steps; the model needs at least context_length=4"),
        (META, {"history": []}, "non-empty list"),
        (META, {"history": [1, 2, float("nan"), 4]}, r"history\[2\]\[0\] \(visits\) is nan"),
        (META, {"history": [1, 2, 3, "x"]}, "not a number"),
        (META, {"history": [[1, 2]] * 4}, "has 2 values"),
        (META, {"history": [1, 2, 3, 4], "covariates": [[1]] * 4}, "takes no covariates"),
        (WITH_PROMO, {"history": [1, 2, 3, 4]}, "covariates are needed: promo"),
        (WITH_PROMO, {"history": [1, 2, 3, 4], "covariates": [[1]] * 5}, "covariates has 5 steps, history 4"),
        (WITH_PROMO, {"history": [1, 2, 3, 4], "covariates": [1, 2, float("inf"), 4]}, r"\(promo\) is inf"),
    ],
)
def test_bad_histories_are_422_naming_the_problem(meta, payload, message):
    with pytest.raises(BadInput, match=message) as caught:
        serving.build_adapter(meta, max_steps=100).decode(payload)
    assert caught.value.status == 422


def test_covariates_join_the_context():
    adapter = serving.build_adapter(WITH_PROMO)
    item = adapter.decode({"history": [1, 2, 3, 4, 5], "covariates": [0, 1, 0, 1, 1]})
    assert item.context.tolist() == [[2, 1], [3, 0], [4, 1], [5, 1]]


def test_files_for_predict(tmp_path):
    rows = ["day,promo,visits", "2024-01-03,1,", "2024-01-01,0,1", "2024-01-02,0,2", "2024-01-04,0,4", "soon,0,9"]
    (tmp_path / "shop.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "more.jsonl").write_text(json.dumps({"history": [1, 2, 3, 4]}) + "\nnot json\n")
    np.save(tmp_path / "plain.npy", np.arange(5.0))
    found = dict(serving.read_inputs(sorted(tmp_path.iterdir())))
    adapter = serving.build_adapter(WITH_PROMO)
    shop = adapter.decode(found[str(tmp_path / "shop.csv")])  # rows in time order, columns by name, gap filled
    assert (
        shop.context.tolist() == [[1, 0], [2, 0], [3, 1], [4, 0]] and found[str(tmp_path / "shop.csv")]["filled"] == 1
    )
    plain = serving.build_adapter(META).decode(found[str(tmp_path / "plain.npy")])
    assert plain.context[:, 0].tolist() == [1, 2, 3, 4] and plain.steps == 5
    assert isinstance(found[f"{tmp_path / 'more.jsonl'}:2"], BadInput)
    assert found[str(tmp_path / "shop.csv")]["dropped"] == 1  # "soon" is not a time
    row = serving.to_row("shop.csv", None, {"forecast": [1.0, 2.0], "targets": ["visits"]})
    assert row == {"input": "shop.csv", "next": 1.0, "forecast": [1.0, 2.0], "targets": ["visits"]}
    assert serving.http_request("x", [1, 2], 1) == {"json": {"history": [1, 2]}}
