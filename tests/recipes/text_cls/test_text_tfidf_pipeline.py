"""model=tfidf end to end: `aiaas pipeline` (train, evaluate, export with parity, package), then the Bento over HTTP
answers raw texts as local `predict` does."""

from __future__ import annotations

import pytest
import requests
from conftest import Server

from aiaas_cli.serving.runtime import Predictor
from aiaas_recipes.text_cls.recipe import recipe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(cli, tmp_path_factory) -> dict:
    data = [o for o in recipe.smoke_overrides(tmp_path_factory.mktemp("tfidf-e2e")) if o.startswith("data.")]
    return cli.json("pipeline", "text-cls", *data, "model=tfidf", "model.C=[4.0]", "export.register=false")


def test_pipeline_exports_the_text_graph(run):
    assert run["parity"]["top1_agreement"] == 1.0 and run["checkpoint"].endswith("best.skops")
    assert run["metrics"]["baseline"]["name"] == "TF-IDF + logistic regression"


@pytest.fixture(scope="module")
def server(run, tmp_path_factory):
    running = Server(run["bento_tag"], tmp_path_factory.mktemp("serve-tfidf") / "server.log").wait_ready()
    yield running
    running.stop()


def test_served_tfidf_answers_as_local_predict(server, run):
    local = Predictor(run["onnx_path"])
    for text in ("a great match tonight", "My new LAPTOP\n and phone"):
        body = requests.post(f"{server.url}/predict", json={"text": text, "k": 2}, timeout=30).json()
        want = local.predict([text], k=2)[0]
        assert [p["label"] for p in body["predictions"]] == [p["label"] for p in want["predictions"]]
        assert body["predictions"][0]["score"] == pytest.approx(want["predictions"][0]["score"], abs=1e-5)
    empty = requests.post(f"{server.url}/predict", json={"text": "  "}, timeout=30)
    assert 400 <= empty.status_code < 500
