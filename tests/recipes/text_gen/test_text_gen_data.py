"""text-gen's data: text files and JSONL instructions read (broken lines skipped with their reason), chat rendering
(the simple template and a hub model's own), the loss on answer tokens only, and the built-in set's split."""

from __future__ import annotations

import json

import numpy as np
import pytest
from omegaconf import OmegaConf

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.text_gen import builtin, chat, dataset, sources, tokens

LINES = [
    json.dumps({"prompt": "What is 2 plus 2?", "completion": "4"}),
    "{not json",
    json.dumps(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
            ]
        }
    ),  # fmt: skip
    json.dumps({"messages": [{"role": "user", "content": "no answer"}]}),
    json.dumps({"prompt": "only a prompt"}),
    "",
]


@pytest.fixture()
def folder(tmp_path):
    (tmp_path / "chat.jsonl").write_text("\n".join(LINES), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("First paragraph about cats.\n\nSecond one, about dogs.\n", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\xfa broken")
    return tmp_path


def test_reading_keeps_documents_and_instructions_and_reports_broken_lines(folder):
    skipped: list[dict] = []
    corpus = sources.read(folder, "utf-8", skipped)
    assert corpus.documents == ["First paragraph about cats.", "Second one, about dogs."]
    assert [e.answer for e in corpus.examples] == ["4", "Hello"]
    assert corpus.examples[1].messages[0] == {"role": "system", "content": "Be brief."}
    reasons = {item["file"].rsplit("/", 1)[-1]: item["reason"] for item in skipped}
    assert reasons["chat.jsonl:2"].startswith("not JSON")
    assert "assistant" in reasons["chat.jsonl:4"] and "completion" in reasons["chat.jsonl:5"]
    assert reasons["bad.txt"].startswith("cannot read")


def test_simple_template_and_a_hub_template_render_the_generation_prompt():
    messages = [{"role": "user", "content": "Hi"}]
    assert chat.render(None, messages) == "<|user|>\nHi\n<|assistant|>\n"
    own = "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{% endfor %}" \
          "{% if add_generation_prompt %}[assistant] {% endif %}"  # fmt: skip
    assert chat.render(own, messages, bos_token="<s>") == "<s>[user] Hi[assistant] "
    with pytest.raises(BadInput) as refused:
        chat.render("{{ raise_exception('no system role') }}", messages)
    assert refused.value.status == 422
    with pytest.raises(BadInput):
        chat.check_messages([{"role": "robot", "content": "x"}])


def test_the_loss_counts_the_answer_and_the_end_token_only():
    info = {**tokens.own(["<|user|>\nWhat is 2 plus 2?\n<|assistant|>\n4"] * 4, 300), "chat_template": None}
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(info["tokenizer"])
    example = sources.Example([{"role": "user", "content": "What is 2 plus 2?"}], "4")
    ids, labels = dataset.encode_example(tok, info, example)
    counted = [t for t, label in zip(ids, labels) if label != dataset.IGNORE]
    assert tok.decode(counted[:-1]) == "4" and counted[-1] == info["eos_id"]
    assert tok.decode(ids[: labels.index(counted[0])], skip_special_tokens=False).endswith("<|assistant|>\n")


def test_documents_are_packed_into_blocks_ended_by_the_end_token(folder, tmp_path):
    cfg = OmegaConf.create({"data": {"path": str(folder), "encoding": "utf-8", "block_size": 8, "max_rows": None,
                                     "split": {"val": 0.0, "test": 0.0, "seed": 0},
                                     "tokenizer": {"vocab_size": 300}}})  # fmt: skip
    out = tmp_path / "ds"
    out.mkdir()
    manifest = dataset.build(cfg, out, None)
    ids, lengths = np.load(out / "train_ids.npy"), np.load(out / "train_len.npy")
    assert ids.shape[1] <= 8 and manifest["documents"]["train"] == 2
    assert manifest["tokens"]["eos_id"] in ids  # each document ends with the end token
    assert any("block_size" in item["reason"] for item in manifest["skipped"])  # the system prompt one is too long
    assert (lengths > 0).all() and manifest["splits"]["train"] == len(ids)


def test_the_builtin_set_is_deterministic_and_holds_out_unseen_wordings():
    first, again = builtin.instructions(seed=0), builtin.instructions(seed=0)
    assert first == again and len(first["test"]) > 50
    train = {row["prompt"] for row in first["train"]}
    assert not any(row["prompt"] in train for row in first["test"])
    assert {row["task"] for row in first["test"]} == {"add", "sub", "convert", "date", "lookup"}
    assert all(len(row["completion"]) <= 9 for rows in first.values() for row in rows)  # short, exact answers
