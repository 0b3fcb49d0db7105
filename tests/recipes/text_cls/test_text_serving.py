"""The torch-free adapter: tokenizes, truncates (and says so), refuses bad input, reads CSV/JSONL/TXT inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from textfiles import make_rows, write_csv, write_jsonl

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.text import tokenizer
from aiaas_recipes.text_cls.serving import build_adapter, read_inputs


@pytest.fixture(scope="module")
def adapter():
    tok = tokenizer.train([text for text, _ in make_rows(90)], vocab_size=200, min_frequency=1)
    return build_adapter({"labels": ["food", "sports", "tech"], "max_length": 8, "tokenizer": tok.to_str()})


def test_short_text_is_padded_and_not_truncated(adapter):
    item = adapter.decode("goal team")
    assert adapter.extras(item) == {"tokens": 2, "truncated": False}
    assert item.ids.shape == (8,) and (item.ids[2:] == 0).all() and (item.ids[:2] > 1).all()


def test_long_text_is_truncated_and_reported(adapter):
    item = adapter.decode(" ".join(["goal"] * 30))
    assert adapter.extras(item) == {"tokens": 30, "truncated": True}
    batch = adapter.batch([item, adapter.decode("pasta")])
    assert batch["input_ids"].shape == (2, 8) and batch["input_ids"].dtype == np.int64


def test_special_token_text_is_not_padding(adapter):
    assert (adapter.decode("[PAD] [UNK]").ids[:2] != 0).all()


@pytest.mark.parametrize("payload, message", [
    ("", "empty text"), ("  \n\t", "empty text"), (None, "expected a string"), (42, "expected a string"),
    (["goal"], "expected a string"), (b"\xff\xfe", "not valid UTF-8"), ("x" * 100_001, "above the limit"),
])  # fmt: skip
def test_bad_inputs_are_refused(adapter, payload, message):
    with pytest.raises(BadInput, match=message):
        adapter.decode(payload)


def test_utf8_bytes_are_accepted(adapter):
    assert adapter.extras(adapter.decode("café".encode()))["tokens"] >= 1


def test_postprocess_gives_sorted_top_k(adapter):
    item = adapter.decode("goal")
    answer = adapter.postprocess({"logits": np.array([[0.1, 2.0, -1.0]])}, [item], k=2)[0]
    top = answer["predictions"]
    assert [t["label"] for t in top] == ["sports", "food"] and top[0]["score"] > top[1]["score"]
    assert answer["truncated"] is False and answer["tokens"] == 1


def test_read_inputs_over_csv_jsonl_txt_and_unreadable(tmp_path):
    csv_path = write_csv(tmp_path / "in.csv", [("goal team", "?"), ("", "?")], header=("text", "id"))
    csv_path.write_text(csv_path.read_text() + "unquoted, comma,?\n")
    jsonl = write_jsonl(tmp_path / "in.jsonl", [("pasta oven", "?")])
    (tmp_path / "in.jsonl").write_text(jsonl.read_text() + '"a bare string"\n{broken\n')
    (tmp_path / "in.txt").write_text("first line\n\nsecond line\n")
    (tmp_path / "bad.txt").write_bytes(b"ok\n\xff\n")
    paths = [csv_path, jsonl, tmp_path / "in.txt", tmp_path / "bad.txt", tmp_path / "missing.txt"]
    got = list(read_inputs(paths))
    names = [name.replace(str(tmp_path) + "/", "") for name, _ in got]
    assert names == ["in.csv:2", "in.csv:3", "in.csv:4", "in.jsonl:1", "in.jsonl:2", "in.jsonl:3",
                     "in.txt:1", "in.txt:3", "bad.txt", "missing.txt"]  # fmt: skip
    payloads = [payload for _, payload in got]
    assert payloads[:2] == ["goal team", ""] and str(payloads[2]) == "3 fields, the header has 2"
    assert payloads[3:5] == ["pasta oven", "a bare string"]
    assert isinstance(payloads[5], BadInput) and payloads[6:8] == ["first line", "second line"]
    assert "line 2 is not UTF-8" in str(payloads[8]) and isinstance(payloads[9], OSError)


def test_serving_module_does_not_import_torch():
    code = (
        "import sys, aiaas_recipes.text_cls.serving, aiaas_cli.serving.runtime\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'transformers', 'pytorch_lightning'})\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=Path.cwd())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
