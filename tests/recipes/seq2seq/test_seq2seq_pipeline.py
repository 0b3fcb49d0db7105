"""A Moses folder and a TSV, each with broken lines, through every stage; the served model answers what local
`predict` wrote (greedy and beam search), texts of different lengths batch together, every bad body is a 4xx, and
no process of the service loads torch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from conftest import Server
from pairfiles import write_moses, write_tsv
from processes import torch_loaded
from schemafuzz import assert_no_5xx

# a smoke-sized model trained for a few dozen steps: its outputs differ from text to text
QUICK = [
    "trainer.early_stopping.enabled=false",
    "model.width=32",
    "model.layers=1",
    "model.decoder_layers=1",
    "model.heads=2",
    "model.ff=64",
    "data.batch_size=8",
    "data.tokenizer.vocab_size=400",
    "data.max_source_tokens=160",
    "export.register=false",
]


def _skipped(out: dict) -> dict[str, str]:
    manifest = json.loads((Path(out["dataset_dir"]) / "manifest.json").read_text())
    return {s["file"]: s["reason"].lower() for s in manifest["skipped"]}


@pytest.mark.slow
def test_moses_and_tsv_through_every_stage_and_served_like_predict(cli, tmp_path):
    table = tmp_path / "pairs.tsv"
    bad_rows = write_tsv(table, count=40)
    tsv = cli.json("pipeline", "seq2seq", f"data.path={table}", "trainer.max_epochs=1", *QUICK)
    assert tsv["bento_tag"] and set(_skipped(tsv)) == set(bad_rows)

    corpus = tmp_path / "corpus"
    bad_lines = write_moses(corpus, count=60)
    out = cli.json("pipeline", "seq2seq", f"data.path={corpus}", "trainer.max_epochs=10", "optim.lr=0.005", *QUICK)
    assert {"bleu", "chrf", "rougeL", "worst", "baseline"} <= set(out["metrics"])
    assert out["parity"]["token_agreement"] == 1.0  # ONNX and torch decode the same tokens
    assert all(word in _skipped(out).get(where, "") for where, word in bad_lines.items())

    inputs = tmp_path / "inputs.txt"
    texts = [line for line in (corpus / "test.en").read_text(encoding="utf-8").splitlines() if line]
    inputs.write_text("\n".join(texts) + "\n", encoding="utf-8")
    rows = [
        json.loads(line)
        for line in cli("predict", "seq2seq", str(inputs), "--model", f"run={out['run_id']}").stdout.splitlines()
    ]
    assert len(rows) == len(texts) and len({r["text"] for r in rows}) > 1

    server = Server(out["bento_tag"], tmp_path / "server.log").wait_ready()
    try:
        url = server.url
        served = [requests.post(f"{url}/predict", json={"text": t}, timeout=60).json() for t in texts]
        assert [s["text"] for s in served] == [r["text"] for r in rows]
        assert [len(s["tokens"]) for s in served] == [r["tokens"] for r in rows]
        batch = requests.post(f"{url}/predict_batch", json={"texts": [texts[0], texts[1][:12]]}, timeout=60).json()
        alone = requests.post(f"{url}/predict", json={"text": texts[1][:12]}, timeout=60).json()
        assert batch == [served[0], alone]  # a short and a long text in one batch: each as it is alone
        beam = requests.post(f"{url}/predict", json={"text": texts[0], "beam_size": 3, "max_length": 5}, timeout=60)
        assert beam.status_code == 200 and len(beam.json()["tokens"]) <= 5
        bad = [
            ({"text": ""}, 400),
            ({"text": "x" * 6000}, 413),
            ({"text": texts[0], "beam_size": 99}, 422),
            ({"text": texts[0], "beam_size": 0}, 422),
            ({"text": texts[0], "max_length": 10_000}, 422),
            ({"text": 3}, 422),
            ({"texts": "one"}, 422),
        ]
        for body, status in bad:
            assert requests.post(f"{url}/predict", json=body, timeout=60).status_code == status, body
        assert 400 <= requests.post(f"{url}/predict", data=b"{not json", timeout=60).status_code < 500
        assert torch_loaded(server.process.pid) == []
        assert_no_5xx(url, examples=10, expect={"/predict", "/predict_batch"})
    finally:
        server.stop()
