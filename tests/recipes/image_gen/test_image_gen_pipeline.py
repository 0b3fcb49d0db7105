"""The built-in digits through every stage on a smoke-sized budget, then local `predict --save` and the served model
over HTTP on 127.0.0.1: the same seed gives the same PNG from both, limits answer 422, and no serving process loads
torch."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from conftest import Server
from processes import torch_loaded

QUICK = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=4",
    "model.channels=[8,16]",
    "model.emb_dim=32",
    "sampling.steps=4",
    "sampling.eval_per_class=4",
    "sampling.max_n=3",
    "sampling.max_steps=8",
    "export.register=false",
    "trainer.threads=1",  # two busy-waiting threads crawl on a loaded 2-core machine
]


@pytest.fixture(scope="module")
def pipeline(cli) -> dict:
    return cli.json("pipeline", "image-gen", *QUICK)


@pytest.mark.slow
def test_digits_pipeline_predict_and_serve_give_the_same_images(pipeline, cli, tmp_path):
    out = pipeline
    assert {"class_accuracy", "fid", "precision", "recall"} <= out["metrics"].keys()
    assert "fid" in out["metrics"]["baseline"]
    assert out["parity"]["same_image"] == 1.0
    requests_file = tmp_path / "requests.txt"
    requests_file.write_text("label=3 n=2 seed=5\n")
    cli("predict", "image-gen", str(requests_file), "--model", f"run={out['run_id']}", "--save", str(tmp_path / "png"))
    local = sorted((tmp_path / "png").glob("*.png"))
    assert len(local) == 2 and local[0].read_bytes()[:4] == b"\x89PNG"

    server = Server(out["bento_tag"], tmp_path / "server.log").wait_ready()
    try:
        answer = requests.post(f"{server.url}/predict", json={"label": 3, "n": 2, "seed": 5}, timeout=60)
        assert answer.status_code == 200, answer.text
        served = [base64.b64decode(image["png_base64"]) for image in answer.json()["images"]]
        assert served == [path.read_bytes() for path in local]  # same seed, same image, locally and served
        png = requests.post(f"{server.url}/predict", json={"label": "3", "seed": 6, "format": "png"}, timeout=60)
        assert png.headers["content-type"] == "image/png" and png.content == served[1]
        for bad in ({"n": 4}, {"steps": 9}, {"label": 10}, {"n": 2, "format": "png"}, {"seed": -1}):
            refused = requests.post(f"{server.url}/predict", json=bad, timeout=30)
            assert refused.status_code == 422, (bad, refused.status_code, refused.text)
        assert torch_loaded(server.process.pid) == []
        via_url = cli("predict", "image-gen", str(requests_file), "--url", server.url).stdout.splitlines()
        assert [base64.b64decode(json.loads(row)["png_base64"]) for row in via_url] == served
    finally:
        server.stop()
