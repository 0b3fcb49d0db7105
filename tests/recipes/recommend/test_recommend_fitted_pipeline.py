"""model=als end to end: `aiaas pipeline` (train, evaluate, export with parity, package), then the Bento over HTTP
answers as local `predict` does, users and similar items alike."""

from __future__ import annotations

import pytest
import requests
from conftest import Server

from aiaas_cli.serving.runtime import Predictor

pytestmark = pytest.mark.slow

DATA = ["data.generated.users=80", "data.generated.items=50", "data.generated.interactions_per_user=8",
        "data.generated.genres=4", "max_k=20"]  # fmt: skip
ALS = ["model=als", "model.factors=[4,8]", "model.alpha=[5.0]", "model.iterations=5", "export.register=false"]


@pytest.fixture(scope="module")
def run(cli) -> dict:
    return cli.json("pipeline", "recommend", *DATA, *ALS)


def test_pipeline_reports_the_fitted_model(run):
    assert run["parity"]["topk_agreement"] == 1.0 and run["checkpoint"].endswith("best.npz")
    assert set(run["metrics"]["baselines"]) == {"most-popular", "item-knn"} and 0 < run["metrics"]["ndcg"] <= 1


@pytest.fixture(scope="module")
def server(run, tmp_path_factory):
    running = Server(run["bento_tag"], tmp_path_factory.mktemp("serve-als") / "server.log").wait_ready()
    yield running
    running.stop()


def test_served_als_answers_as_local_predict(server, run):
    local = Predictor(run["onnx_path"])
    for user in ("u01", "u02", "somebody-new"):
        body = requests.post(f"{server.url}/predict", json={"user": user, "k": 5}, timeout=30).json()
        assert body == local.predict([user], k=5)[0] and len(body["items"]) == 5
    similar = requests.post(f"{server.url}/similar", json={"item": "i01", "k": 3}, timeout=30).json()
    assert similar == {"item": "i01", "items": local.predict([{"item": "i01"}], k=3)[0]["items"]}
