"""forecast end to end on a user's series (its own column names, missing days, a repeated and an off-grid
timestamp, a row that is not a date, an empty cell, a covariate): every stage to a served Bento, `predict` over
its file, and the HTTP service (answers equal to local ones, a short history 422 naming the context length, no
5xx under schema-driven fuzzing). One pipeline run shared by the module."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import requests
from conftest import Server
from schemafuzz import assert_no_5xx
from seqfiles import gappy_series

from aiaas_cli import recipes
from aiaas_cli.serving.runtime import Predictor

pytestmark = pytest.mark.slow

SMALL = [
    "data.target=visits", "data.covariates=[promo]", "horizon=7", "context_length=21", "data.batch_size=16",
    "model=forecast_lstm", "model.hidden=8", "trainer.max_epochs=3", "trainer.early_stopping.enabled=false",
    "export.register=false",
]  # fmt: skip


@pytest.fixture(scope="module")
def run(cli, tmp_path_factory) -> dict:
    path = gappy_series(tmp_path_factory.mktemp("forecast-own") / "visits.csv")
    return {**cli.json("pipeline", "forecast", f"data.path={path}", *SMALL), "path": path}


@pytest.fixture(scope="module")
def served(run, tmp_path_factory):
    server = Server(run["bento_tag"], tmp_path_factory.mktemp("serve-forecast") / "server.log")
    yield server.wait_ready()
    server.stop()


def history(run, steps: int = 30) -> dict:
    series = np.load(Path(run["dataset_dir"]) / "series.npy")[-steps:]
    return {"history": series[:, 0].tolist(), "covariates": series[:, 1:].tolist()}


def test_own_series_through_every_stage(run, cli, tmp_path):
    manifest = json.loads((Path(run["dataset_dir"]) / "manifest.json").read_text())
    assert manifest["gaps"]["missing_steps"] == 4 and len(manifest["skipped"]) == 1
    assert manifest["covariates"] == ["promo"] and manifest["season"] == 7
    metrics = run["metrics"]
    assert {"mae", "rmse", "smape", "mase"} <= set(metrics) and metrics["baseline"]["name"].startswith("seasonal")
    assert set(metrics["baselines"]) == {"seasonal_naive", "linear_ar"}
    plots = Path(run["metrics_file"]).parent
    assert (plots / "forecast_vs_actual.png").stat().st_size > 0 and (plots / "error_by_step.png").exists()
    assert run["parity"]["samples"] > 0 and run["bento_tag"].startswith("aiaas-forecast:")

    recent = history(run, 25)  # a file of its own: columns in another order, rows out of time order
    lines = ["promo,day,visits", *(f"{c[0]},2024-06-{d + 1:02d},{v}" for d, (v, c) in enumerate(zip(*recent.values())))]
    (tmp_path / "recent.csv").write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    files = [str(tmp_path / "recent.csv"), str(run["path"])]  # the training file: an empty cell, a row not dated
    out = cli("predict", "forecast", *files, "--model", f"run={run['run_id']}").stdout
    rows = [json.loads(line) for line in out.splitlines() if line]
    assert (
        len(rows[0]["forecast"]) == 7 and rows[0]["history_steps"] == 25 and rows[0]["next"] == rows[0]["forecast"][0]
    )
    assert rows[1]["filled"] == 1 and rows[1]["dropped"] == 1 and len(rows[1]["forecast"]) == 7
    want = Predictor(run["onnx_path"]).predict([recent])[0]["forecast"]
    assert np.allclose(rows[0]["forecast"], want, atol=1e-4)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_both_cells_export_with_dynamo_for_any_batch(cell, tmp_path):
    """forecast keeps the default exporter (dynamo): its context length is fixed, only the batch axis varies."""
    import onnxruntime as ort
    import torch
    from omegaconf import OmegaConf

    from aiaas_cli.recipe_api import bundled_conf_dir
    from aiaas_cli.stages.export import _torch_export
    from aiaas_recipes.sequence.forecast.model import ForecastRNN

    net = ForecastRNN(features=2, targets=1, horizon=7, context_length=21, hidden=8, cell=cell).eval()
    meta = {"targets": ["y"], "covariates": ["x"], "context_length": 21, "horizon": 7, "model": {}}
    meta.update(scale=[1.0, 1.0], season=7, frequency="1D", mase_scale=[1.0])
    spec = recipes.load("forecast").export_spec(net, meta)
    _torch_export(net, spec, tmp_path / "model.onnx", OmegaConf.load(bundled_conf_dir() / "export" / "onnx.yaml"))
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        context = torch.randn(batch, 21, 2)
        with torch.inference_mode():
            want = net(context).numpy()
        assert np.abs(session.run(None, {"context": context.numpy()})[0] - want).max() < 1e-4


def test_served_answers_equal_local_ones(run, served):
    body = history(run)
    answer = requests.post(f"{served.url}/predict", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    want = Predictor(run["onnx_path"]).predict([body])[0]
    assert answer.json()["targets"] == ["visits"] and answer.json()["horizon"] == 7
    assert np.allclose(answer.json()["forecast"], want["forecast"], atol=1e-4)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"history": [1.0] * 5, "covariates": [[0.0]] * 5}, 422, "context_length=21"),
        ({"history": [1.0] * 30}, 422, "covariates are needed"),
        ({"history": [1.0] * 30, "covariates": [[0.0]] * 29}, 422, "covariates has 29 steps"),
        ({"history": "abc"}, None, ""),
        ({"covariates": [[0.0]]}, None, ""),
    ],
)
def test_bad_histories_get_4xx_naming_the_problem(served, body, status, message):
    answer = requests.post(f"{served.url}/predict", json=body, timeout=30)
    assert answer.status_code == status if status else 400 <= answer.status_code < 500, answer.text
    assert message in answer.json()["error"]


def test_fuzzed_histories_never_get_a_5xx(served):
    assert_no_5xx(served.url)
