"""text-gen end to end, smoke-sized: `aiaas pipeline text-gen` on the built-in instructions (preprocess, train,
evaluate beside the trigram baseline, export with greedy parity, package), then `aiaas predict` on the exported model
answers JSONL prompts and chats from a torch-free process."""

from __future__ import annotations

import json

import onnx
import pytest

pytestmark = pytest.mark.slow

SMOKE = ["data.max_rows=96", "data.tokenizer.vocab_size=300", "data.batch_size=32", "model.width=48", "model.layers=2",
         "model.heads=2", "model.ff=96", "model.max_positions=64", "trainer.max_epochs=3", "optim.lr=0.005",
         "trainer.early_stopping.enabled=false", "export.register=false", "export.parity_samples=24"]  # fmt: skip


@pytest.fixture(scope="module")
def run(cli):
    return cli.json("pipeline", "text-gen", *SMOKE)


def test_pipeline_reports_exact_match_beside_the_baseline_and_exports_the_decoder_step(run):
    metrics = run["metrics"]
    assert 0.0 <= metrics["exact_match"] <= 1.0 and metrics["perplexity"] > 1.0
    assert metrics["baseline"]["name"] == "token trigram" and "exact_match" in metrics["baseline"]
    assert set(metrics["exact_match_by_task"]) == {"add", "sub", "convert", "date", "lookup"}
    assert run["parity"]["greedy_agreement"] >= 0.95 and run["parity"]["samples"] == 24
    model = onnx.load(run["onnx_path"])
    inputs = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    assert list(inputs) == ["tokens", "positions", "attention_mask", "past"]
    assert isinstance(inputs["past"][2], str) and isinstance(inputs["past"][4], str)  # batch and past symbolic
    meta = json.loads({p.key: p.value for p in model.metadata_props}["aiaas"])
    assert set(meta["decoder"]) == {"layers", "heads", "head_dim", "vocab", "eos_id", "pad_id", "max_positions"}
    assert meta["decoder"]["layers"] == 2 and meta["model"] == "gpt_small"


def test_predict_answers_prompts_and_chats_and_reports_bad_lines(run, cli, tmp_path):
    lines = [json.dumps({"prompt": "What is 2 plus 3?", "max_tokens": 4}),
             json.dumps({"messages": [{"role": "user", "content": "Which month follows May?"}], "max_tokens": 4}),
             "{broken", json.dumps({"prompt": "Hi", "max_tokens": 100000})]  # fmt: skip
    (tmp_path / "prompts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    cli("predict", "text-gen", str(tmp_path / "prompts.jsonl"), "--model", run["onnx_path"], "-o", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert ["error" in row for row in rows] == [False, False, True, True]  # the broken line and the 413 reported
    assert rows[2]["error"].startswith("not JSON") and "limit of 256" in rows[3]["error"]
    assert all(row["tokens"] <= 4 and row["finish_reason"] in ("stop", "length") for row in rows[:2])
