"""token-cls end to end on a user's JSONL file with its own problems: every stage to a served Bento, then
`aiaas predict` locally and over HTTP (the same answers), bad requests (4xx) and fuzzing (no 5xx)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import requests
from conftest import Server
from schemafuzz import assert_no_5xx

from aiaas_recipes.token_cls.smoke import jsonl_file

pytestmark = pytest.mark.slow

SMALL = ["model.embed=32", "model.hidden=32", "model.layers=1", "data.max_length=16", "data.tokenizer.vocab_size=300"]
QUICK = ["trainer.max_epochs=6", "trainer.early_stopping.enabled=false", "export.register=false", "data.batch_size=8"]
BROKEN = [
    {"text": "Ana lives in Lyon", "entities": [{"start": 13, "end": 17, "label": "LOC", "text": "Rome"}]},
    {"text": "Ana lives in Lyon", "entities": [{"start": 13, "end": 99, "label": "LOC"}]},
    {"tokens": ["Bob", "Smith", "smiled"], "tags": ["I-PER", "I-PER", "O"]},  # repaired, kept
    {"tokens": ["Bob", "smiled"], "tags": ["B-PER"]},
]
TEXTS = ["Zoë Müller joined Cobalt Systems in March 2020.", "😀 Police in Kraków said Ana Costa was released."]


@pytest.fixture(scope="module")
def run(cli, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ner")
    path = jsonl_file(folder / "mine.jsonl", count=100)
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in BROKEN)
    result = cli.json("pipeline", "token-cls", f"data.path={path}", *SMALL, *QUICK)
    return result, folder


@pytest.fixture(scope="module")
def server(run, tmp_path_factory):
    running = Server(run[0]["bento_tag"], tmp_path_factory.mktemp("serve-ner") / "server.log").wait_ready()
    yield running
    running.stop()


def test_pipeline_reports_entities_and_skips_broken_sentences(run, cli):
    result, _ = run
    metrics = result["metrics"]
    assert {"f1", "precision", "recall", "per_type", "baseline"} <= set(metrics)
    assert set(metrics["per_type"]) <= {"PER", "ORG", "LOC", "DATE"} and 0 <= metrics["f1"] <= 1
    assert result["parity"]["tag_agreement"] == 1.0
    manifest = json.loads((Path(result["dataset_dir"]) / "manifest.json").read_text())
    assert len(manifest["skipped"]) == 3 and manifest["repaired_tags"] == 1
    assert all({"input", "text", "entities"} <= set(row) for row in result["sample_predictions"])


def predictions(cli, folder, *source) -> list[dict]:
    (folder / "texts.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    (folder / "texts.jsonl").write_text(json.dumps({"tokens": ["Bob", "visited", "Oslo"]}) + "\n{bad\n")
    out = folder / f"out-{len(source[1])}.jsonl"
    cli("predict", "token-cls", str(folder / "texts.txt"), str(folder / "texts.jsonl"), *source, "-o", str(out))
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_served_answers_equal_local_predict(run, server, cli):
    result, folder = run
    local = predictions(cli, folder, "--model", result["onnx_path"])
    served = predictions(cli, folder, "--url", server.url)
    assert len(local) == 4 and "error" in local[-1] and "error" in served[-1]
    assert any(row["entities"] for row in local[:3])  # a model that finds something: the comparison means something
    for mine, theirs in zip(local[:3], served[:3]):
        assert mine["text"] == theirs["text"]
        assert [(e["label"], e["start"], e["end"]) for e in mine["entities"]] == [
            (e["label"], e["start"], e["end"]) for e in theirs["entities"]
        ]
        assert np.allclose([e["score"] for e in mine["entities"]], [e["score"] for e in theirs["entities"]], atol=1e-5)
        assert all(mine["text"][e["start"] : e["end"]] == e["text"] for e in mine["entities"])
    answer = requests.post(f"{server.url}/predict_batch", json={"texts": TEXTS}, timeout=30)
    assert answer.status_code == 200 and [a["entities"] for a in answer.json()] == [r["entities"] for r in served[:2]]


BAD = {
    "empty text": ({"text": "  "}, "/predict", 400),
    "not a string": ({"text": 42}, "/predict", None),
    "no text field": ({"words": "hello"}, "/predict", None),
    "empty list": ({"texts": []}, "/predict_batch", 400),
    "oversized": ({"text": "Ana " * 6000}, "/predict", 413),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_requests_get_4xx(server, case):
    body, route, status = BAD[case]
    answer = requests.post(f"{server.url}{route}", json=body, timeout=30)
    assert 400 <= answer.status_code < 500 and (status is None or answer.status_code == status), answer.text
    assert requests.get(f"{server.url}/readyz", timeout=10).status_code == 200


def test_fuzzed_requests_never_get_a_5xx(server):
    assert_no_5xx(server.url, expect={"/predict", "/predict_batch"})
