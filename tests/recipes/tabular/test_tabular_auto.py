"""model=auto, the tabular recipes' default: which candidates a table gets, and on the smoke table the served model
is the candidate with the best validation score, answering over HTTP as the local ONNX model does."""

from __future__ import annotations

import pytest
import requests
from conftest import Server

from aiaas_cli.config import compose
from aiaas_cli.serving.runtime import OnnxModel, load_adapter
from aiaas_recipes.tabular.recipe import MIN_NETWORK_ROWS, classification, regression


@pytest.mark.parametrize("recipe", [classification, regression], ids=["cls", "reg"])
def test_auto_is_the_default_and_skips_the_network_on_a_tiny_table(recipe):
    cfg = compose(recipe, [])
    assert cfg.model.kind == "auto"
    many, few = {"splits": {"train": MIN_NETWORK_ROWS}}, {"splits": {"train": MIN_NETWORK_ROWS - 1}}
    assert recipe.candidates(cfg, many) == ["linear", "lightgbm", "hist_gb", "mlp"]  # cheapest first
    assert recipe.candidates(cfg, few) == ["linear", "lightgbm", "hist_gb"]
    chosen = compose(recipe, ["model.candidates=[mlp,linear]"])
    assert recipe.candidates(chosen, few) == ["mlp", "linear"]  # a list the user gives is tried as given


def served_name(recipe, metadata: dict) -> str:
    """The `model=` name whose config builds the served model (the ONNX metadata keeps the model's target)."""
    return next(n for n in recipe.models if compose(recipe, [f"model={n}"]).model._target_ == metadata["model"])


@pytest.mark.slow
def test_auto_serves_the_best_validation_candidate(cli, tmp_path):
    recipe = classification
    result = cli.json("pipeline", recipe.name, *recipe.smoke_overrides(tmp_path))
    rows = result["leaderboard"]
    trained = [row for row in rows if row["status"] == "trained"]
    assert {row["name"] for row in trained} == {"linear", "lightgbm", "hist_gb"}  # 39 training rows: no MLP
    order = ["linear", "lightgbm", "hist_gb"]
    best = max(trained, key=lambda row: (row["val"], -order.index(row["name"])))  # a tie keeps the cheaper one
    assert result["chosen_model"] == best["name"] and [r["name"] for r in rows if r["chosen"]] == [best["name"]]
    assert result["metrics"]["accuracy"] == pytest.approx(best["test"])
    assert all(row["val"] is not None and row["test"] is not None and row["fit_s"] > 0 for row in trained)

    model = OnnxModel(result["onnx_path"])
    assert served_name(recipe, model.metadata) == best["name"]
    records = [{"size": 0.5, "colour": "red", "member": True}, {"size": None, "colour": "purple", "member": False}]
    adapter = load_adapter(model.metadata)
    items = [adapter.decode(record) for record in records]
    local = adapter.postprocess(model.run(adapter.batch(items)), items, k=2)
    server = Server(result["bento_tag"], tmp_path / "server.log")
    try:
        served = server.wait_ready()
        answer = requests.post(f"{served.url}/predict", json={"records": records}, timeout=30)
    finally:
        server.stop()
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert [p["label"] for p in predictions] == [p["label"] for p in local]
    for got, want in zip(predictions, local):
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-5)
