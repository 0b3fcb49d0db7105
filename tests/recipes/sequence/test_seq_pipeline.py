"""seq-cls end to end on a user's class folders (ragged CSV/NPY files, broken ones): every stage to a served Bento,
the dynamo-exported ONNX model on any batch and length, `predict` over files, and the HTTP service (answers equal
to local ones, bad requests 4xx, no 5xx under schema-driven fuzzing). One pipeline run shared by the module."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import requests
from conftest import Server
from schemafuzz import assert_no_5xx
from seqfiles import class_folders

from aiaas_cli import recipes
from aiaas_cli.serving.runtime import OnnxModel, Predictor

pytestmark = pytest.mark.slow

SMALL = [
    "data.max_length=12", "data.batch_size=8", "data.split.val=0.2", "data.split.test=0.3", "model.hidden=8",
    "trainer.max_epochs=3", "trainer.early_stopping.enabled=false", "export.register=false",
]  # fmt: skip


@pytest.fixture(scope="module")
def run(cli, tmp_path_factory) -> dict:
    root = class_folders(tmp_path_factory.mktemp("seq-own") / "walks", per_class=12)
    return {**cli.json("pipeline", "seq-cls", f"data.path={root}", *SMALL), "root": root}


@pytest.fixture(scope="module")
def served(run, tmp_path_factory):
    server = Server(run["bento_tag"], tmp_path_factory.mktemp("serve-seq") / "server.log")
    yield server.wait_ready()
    server.stop()


def test_own_folders_through_every_stage(run, cli, tmp_path):
    manifest = json.loads((Path(run["dataset_dir"]) / "manifest.json").read_text())
    assert len(manifest["skipped"]) == 5 and manifest["filled_values"] >= 1 and manifest["truncated"] > 0
    metrics = run["metrics"]
    assert {"accuracy", "macro_f1", "per_class"} <= set(metrics) and {"accuracy", "macro_f1"} <= set(
        metrics["baseline"]
    )
    assert run["parity"]["samples"] > 0 and run["bento_tag"].startswith("aiaas-seq-cls:")

    # the dynamo-exported graph takes any batch size and sequence length, as the trained network does
    recipe = recipes.load("seq-cls")
    network, _ = recipe.load_model(run["checkpoint"])
    model = OnnxModel(run["onnx_path"])
    rng = np.random.default_rng(0)
    for batch, steps in [(1, 3), (5, 30)]:
        values = rng.normal(size=(batch, steps, 2)).astype(np.float32)
        lengths = rng.integers(1, steps + 1, batch)
        want = recipe.reference_outputs(network, {"sequence": values, "lengths": lengths})["logits"]
        assert np.abs(model.run({"sequence": values, "lengths": lengths})["logits"] - want).max() < 1e-4

    # predict over files: a CSV in its own column order, an .npy array, a JSONL record, a broken file
    up = run["root"] / "up"
    (tmp_path / "one.jsonl").write_text(json.dumps({"sequence": [[0.1, 0.0], [0.5, 0.1]], "columns": ["ax", "gy"]}))
    (tmp_path / "broken.npy").write_bytes(b"nope")
    files = [str(up / "s0.csv"), str(up / "s2.npy"), str(tmp_path / "one.jsonl"), str(tmp_path / "broken.npy")]
    out = cli("predict", "seq-cls", *files, "--model", f"run={run['run_id']}").stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [("error" in row) for row in rows] == [False, False, False, True]
    assert all(row["label"] in ("up", "down") for row in rows[:3]) and rows[0]["steps"] > 0
    assert rows[0]["filled"] == 1  # its empty cell, filled from its neighbours as in training


def test_served_answers_equal_local_ones(run, served, cli):
    local = Predictor(run["onnx_path"])
    sequences = [[[0.1, 0.0], [0.4, 0.2], [0.9, -0.1]], [[1.0, 0.0]] * 20]  # the second is cut to max_length
    answer = requests.post(f"{served.url}/predict", json={"sequence": sequences[1], "k": 2}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["truncated"] is True and answer.json()["steps"] == 20
    batch = requests.post(f"{served.url}/predict_batch", json={"sequences": sequences, "k": 2}, timeout=30).json()
    for got, want in zip(batch, local.predict(sequences, k=2)):
        assert [p["label"] for p in got["predictions"]] == [p["label"] for p in want["predictions"]]
        assert np.allclose(
            [p["score"] for p in got["predictions"]], [p["score"] for p in want["predictions"]], atol=1e-5
        )
    files = [str(run["root"] / "down" / "s0.csv"), str(run["root"] / "down" / "s2.npy")]  # `predict --url`
    remote = cli("predict", "seq-cls", *files, "--url", served.url).stdout
    here = cli("predict", "seq-cls", *files, "--model", run["onnx_path"]).stdout
    remote_rows, local_rows = (
        [json.loads(line) for line in out.splitlines() if line.strip()] for out in (remote, here)
    )
    assert [r["label"] for r in remote_rows] == [r["label"] for r in local_rows] and len(remote_rows) == 2
    assert np.allclose([r["score"] for r in remote_rows], [r["score"] for r in local_rows], atol=1e-5)


BAD = {
    "wrong width": '{"sequence": [[1, 2], [3]]}',
    "not numbers": '{"sequence": [["a", "b"]]}',
    "empty": '{"sequence": []}',
    "no sequence": '{"values": [[1, 2]]}',
    "NaN": '{"sequence": [[NaN, 1]]}',
    "infinite": '{"sequence": [[1, Infinity]]}',
    "k of 0": '{"sequence": [[1, 2]], "k": 0}',
    "a feature missing from columns": '{"sequence": [[1, 2]], "columns": ["ax", "other"]}',
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_requests_get_4xx_json(served, case):
    headers = {"content-type": "application/json"}
    answer = requests.post(f"{served.url}/predict", data=BAD[case], headers=headers, timeout=30)
    assert 400 <= answer.status_code < 500, answer.text
    assert "error" in answer.json()


def test_fuzzed_sequences_never_get_a_5xx(served):
    assert_no_5xx(served.url)
