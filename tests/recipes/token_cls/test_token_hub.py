"""token-cls with a hub model (model=hf): a tiny cased BERT made here, loaded as model.name=<folder> (the real loading
path; only the download from the Hub cannot run here: no internet). Fast: words to first sub-tokens and back; slow:
every stage to a served Bento whose entities equal `aiaas predict`'s."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import Server

from aiaas_recipes.common.text import hub_tokens
from aiaas_recipes.token_cls import hub_encoding
from aiaas_recipes.token_cls.smoke import jsonl_file
from tests.recipes.common.hub_models import tiny_bert

QUICK = ["data.max_length=24", "data.batch_size=8", "optim.lr=0.003", "trainer.max_epochs=6",
         "trainer.early_stopping.enabled=false", "export.register=false", "export.exporter=dynamo"]  # fmt: skip
TEXTS = ["Zoë Müller joined Cobalt Systems in March 2020.", "Police in Kraków said Ana Costa was released."]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ner-hub")
    path = jsonl_file(folder / "mine.jsonl", count=150)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    texts = [r.get("text") or " ".join(r["tokens"]) for r in records]
    return folder, path, tiny_bert(folder / "bert", texts + TEXTS, lowercase=False)


def hub(bert, max_length: int):
    tokenizer = (bert / "tokenizer.json").read_text()
    return hub_tokens.load(tokenizer, max_length, 0, ["input_ids", "attention_mask"])


def test_rows_frame_each_piece_with_special_tokens_and_keep_every_word(corpus):
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(corpus[2])
    text = TEXTS[0]
    one = hub_encoding.encode(hub(corpus[2], 64), text)
    want = auto(text)["input_ids"]
    assert (
        one.rows.shape == (1, 64) and one.rows[0, : len(want)].tolist() == want and one.lengths.tolist() == [len(want)]
    )
    words = [text[s:e] for s, e in one.spans.tolist()]
    assert words[:3] == ["Zoë", "Müller", "joined"] and words[-1] == "."
    firsts = one.rows[0][one.positions[:, 1]]
    assert firsts.tolist() == [auto(w, add_special_tokens=False)["input_ids"][0] for w in words]
    # a long text takes several rows, each framed by [CLS] ... [SEP], no word lost or split across rows
    many = hub_encoding.encode(hub(corpus[2], 8), text)
    cls, sep = auto.cls_token_id, auto.sep_token_id
    assert len(many.rows) > 1 and (many.rows[:, 0] == cls).all()
    assert all(many.rows[r, many.lengths[r] - 1] == sep for r in range(len(many.rows)))
    assert len(many.positions) == len(one.positions) and (many.positions[:, 1] >= 1).all()


SERVING_CHECK = """
import json, sys
import numpy as np
from aiaas_recipes.token_cls.serving import build_adapter
adapter = build_adapter(json.loads(sys.argv[1]))
items = [adapter.decode(text) for text in json.loads(sys.argv[2])]
feeds = adapter.batch(items)
logits = np.zeros(feeds["input_ids"].shape + (3,), np.float32)
logits[..., 1] = 5.0  # B-PER everywhere: every word an entity
answer = adapter.postprocess({"logits": logits}, items, 1)
heavy = sorted(name for name in ("torch", "transformers") if name in sys.modules)
print(json.dumps({"inputs": sorted(feeds), "heavy": heavy, "entities": [a["entities"] for a in answer]}))
"""


def test_serving_maps_sub_tokens_back_to_words_without_torch(corpus):
    metadata = {
        "labels": ["O", "B-PER", "I-PER"],
        "types": ["PER"],
        "max_length": 8,
        "tokenizer": (corpus[2] / "tokenizer.json").read_text(),
        "hub": {"pad_id": 0, "inputs": ["input_ids", "attention_mask"]},
    }
    done = subprocess.run([sys.executable, "-c", SERVING_CHECK, json.dumps(metadata), json.dumps(TEXTS)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer["heavy"] == [] and answer["inputs"] == ["attention_mask", "input_ids"]
    first = answer["entities"][0]
    assert [e["text"] for e in first[:3]] == ["Zoë", "Müller", "joined"]  # whole words, offsets into the text
    assert all(TEXTS[0][e["start"] : e["end"]] == e["text"] for e in first)


@pytest.fixture(scope="module")
def run(cli, corpus):
    _, path, bert = corpus
    return cli.json("pipeline", "token-cls", "model=hf", f"model.name={bert}", f"data.path={path}", *QUICK)


@pytest.fixture(scope="module")
def server(run, tmp_path_factory):
    running = Server(run["bento_tag"], tmp_path_factory.mktemp("serve-ner-hub") / "server.log").wait_ready()
    yield running
    running.stop()


@pytest.mark.slow
def test_pipeline_to_a_served_model_that_answers_as_predict_does(run, server, cli, corpus):
    assert {"f1", "precision", "recall", "per_type"} <= set(run["metrics"]) and run["metrics"]["f1"] > 0.1
    assert run["parity"]["tag_agreement"] == 1.0
    folder = corpus[0]
    (folder / "texts.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    rows = {}
    for source in (("--model", run["onnx_path"]), ("--url", server.url)):
        out = folder / f"out{source[0]}.jsonl"
        cli("predict", "token-cls", str(folder / "texts.txt"), *source, "-o", str(out))
        rows[source[0]] = [json.loads(line) for line in out.read_text().splitlines()]
    local, served = rows["--model"], rows["--url"]
    assert len(local) == 2 and [r["text"] for r in local] == TEXTS
    for mine, theirs in zip(local, served):
        assert [(e["label"], e["start"], e["end"]) for e in mine["entities"]] == [
            (e["label"], e["start"], e["end"]) for e in theirs["entities"]
        ]
        assert np.allclose([e["score"] for e in mine["entities"]], [e["score"] for e in theirs["entities"]], atol=1e-5)
        assert all(mine["text"][e["start"] : e["end"]] == e["text"] for e in mine["entities"])
