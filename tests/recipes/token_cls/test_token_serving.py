"""token-cls's torch-free half: words and offsets (unicode), rows of long texts, decoding, the adapter, inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.token_cls import encoding, serving
from aiaas_recipes.token_cls.decode import Decoder, transitions, viterbi
from aiaas_recipes.token_cls.tags import tag_names

NAMES = tag_names(["LOC", "PER"])  # O B-LOC I-LOC B-PER I-PER
TEXTS = ["Ana Costa lives in Lyon.", "Bob met Eve in Paris today.", "Zoë visited São Paulo with Müller."]


@pytest.fixture(scope="module")
def tok():
    return encoding.train(TEXTS * 3, vocab_size=120, min_frequency=1)


@pytest.mark.parametrize(
    "text",
    [
        "Zoë\u0301 Müller 😀 met 北京 friends, e.g. Ñandú in Łódź!",
        "  leading\tand\u00a0odd\u2028spaces  ",
        "ﬁle ᴬ x\u200bz",
    ],
)
def test_word_spans_index_the_original_text(tok, text):
    encoded = encoding.encode(tok, text, 64)
    words = [text[s:e] for s, e in encoded.spans.tolist()]
    assert all(w and w == w.strip() for w in words)
    assert "".join(words) == "".join(text.split())  # every character but spaces, in order
    assert (encoded.spans[:, 0][1:] >= encoded.spans[:, 1][:-1]).all()


def test_long_text_takes_several_rows_cut_between_words(tok):
    text = " ".join(["Costa visited Lyon"] * 20)
    one = encoding.encode(tok, text, 512)
    rows = encoding.encode(tok, text, 7)
    assert len(one.rows) == 1 and len(rows.rows) > 5 and rows.rows.shape[1] == 7
    assert np.array_equal(one.spans, rows.spans)  # the same words
    assert np.array_equal(one.rows[0][one.rows[0] != 0], rows.rows[rows.rows != 0])  # the same pieces, in order
    # a word's pieces stay in one row: each row starts with a word's first piece
    assert set(rows.positions[:, 0].tolist()) == set(range(len(rows.rows)))
    assert (rows.positions[rows.positions[:, 0] > 0][:, 1].min()) == 0


def test_many_equals_one_by_one(tok):
    many = encoding.encode_many(tok, TEXTS, 8)
    for text, got in zip(TEXTS, many):
        want = encoding.encode(tok, text, 8)
        assert all(np.array_equal(getattr(got, k), getattr(want, k)) for k in ("rows", "positions", "spans"))


def test_viterbi_never_continues_nothing():
    moves, start = transitions(NAMES)
    rng = np.random.default_rng(0)
    for _ in range(50):
        path = [NAMES[i] for i in viterbi(rng.normal(size=(9, len(NAMES))) * 3, moves, start)]
        for before, tag in zip(["O", *path], path):
            if tag.startswith("I-"):
                assert before[2:] == tag[2:] and before != "O"


def logits_for(encoded: encoding.Encoded, word_tags: list[str]) -> np.ndarray:
    """Logits that make each word's first piece say its tag (and a strong O elsewhere)."""
    logits = np.zeros((*encoded.rows.shape, len(NAMES)), dtype=np.float32)
    logits[..., 0] = 5.0
    for (row, column), tag in zip(encoded.positions.tolist(), word_tags):
        logits[row, column] = 0.0
        logits[row, column, NAMES.index(tag)] = 5.0
    return logits


def test_entities_carry_unicode_offsets(tok):
    text = "😀 Zoë Müller flew to São Paulo."
    encoded = encoding.encode(tok, text, 3)  # several rows: one entity spans two of them
    words = [text[s:e] for s, e in encoded.spans.tolist()]
    tags = ["B-PER" if w == "Zoë" else "I-PER" if w == "Müller" else "B-LOC" if w == "São" else
            "I-LOC" if w == "Paulo" else "O" for w in words]  # fmt: skip
    entities = Decoder(NAMES).entities(text, encoded, logits_for(encoded, tags))
    assert [(e["text"], e["label"]) for e in entities] == [("Zoë Müller", "PER"), ("São Paulo", "LOC")]
    assert all(text[e["start"] : e["end"]] == e["text"] and 0.9 < e["score"] <= 1 for e in entities)


@pytest.fixture(scope="module")
def adapter(tok):
    return serving.build_adapter({"labels": NAMES, "max_length": 6, "tokenizer": tok.to_str()}, max_chars=200)


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [("  ", 400, "empty"), (42, 400, "expected a string"), ("x" * 201, 413, "above the limit"),
     (b"\xff\xfe", 400, "UTF-8"), (None, 400, "NoneType")],
)  # fmt: skip
def test_bad_texts_are_refused(adapter, payload, status, message):
    with pytest.raises(BadInput, match=message) as caught:
        adapter.decode(payload)
    assert caught.value.status == status


def test_batch_and_postprocess_keep_each_text_to_its_rows(adapter):
    items = [adapter.decode(text) for text in ["Ana Costa lives in Lyon.", "Bob", " ".join(["Eve met Bob"] * 5)]]
    feeds = adapter.batch(items)
    assert feeds["input_ids"].shape == (sum(len(i.encoded.rows) for i in items), 6)
    logits = np.concatenate([logits_for(i.encoded, ["B-PER"] + ["O"] * (len(i.encoded.spans) - 1)) for i in items])
    answers = adapter.postprocess({"logits": logits}, items, k=3)
    assert [[e["text"] for e in a["entities"]] for a in answers] == [["Ana"], ["Bob"], ["Eve"]]
    assert serving.http_predictions(json.loads(json.dumps(serving.http_response(answers)))) == answers[:1]
    assert serving.http_predictions({"error": "bad"}) is None
    row = serving.to_row("a.txt:1", "Ana Costa lives in Lyon.", answers[0])
    assert row == {"input": "a.txt:1", "text": "Ana Costa lives in Lyon.", "found": "Ana (PER)",
                   "entities": answers[0]["entities"]}  # fmt: skip


def test_read_inputs_from_text_and_jsonl_files(tmp_path):
    (tmp_path / "notes.txt").write_text("Ana lives in Lyon.\n\n  \nBob works at Acme.\n", encoding="utf-8")
    rows = [{"text": "Eve in Paris"}, {"tokens": ["Eve", "in", "Rome"]}, {"id": 3}, "bare string"]
    (tmp_path / "more.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n{oops\n", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"ok\n\xff\n")
    got = list(serving.read_inputs([tmp_path / "notes.txt", tmp_path / "more.jsonl", tmp_path / "bad.txt"]))
    values = {name.split("/")[-1]: (str(v) if isinstance(v, Exception) else v) for name, v in got}
    assert values["notes.txt:1"] == "Ana lives in Lyon." and values["notes.txt:4"] == "Bob works at Acme."
    assert values["more.jsonl:1"] == "Eve in Paris" and values["more.jsonl:2"] == "Eve in Rome"
    assert values["more.jsonl:3"] == "no 'text' field" and values["more.jsonl:4"] == "bare string"
    assert "not JSON" in values["more.jsonl:5"] and values["bad.txt"] == "line 2 is not UTF-8"
    assert serving.http_request("x", "Ana", 5) == {"json": {"text": "Ana"}}


def test_piece_shapes_by_vocabulary_id(tok):
    shapes, vocab = encoding.piece_shapes(tok), tok.get_vocab()
    assert len(shapes) == tok.get_vocab_size() and max(shapes) < encoding.SHAPES
    expected = {"[PAD]": 0, "[UNK]": 1, "A": 2, "a": 3, "1": 4, ".": 5, "##a": 7}
    assert {piece: shapes[vocab[piece]] for piece in expected if piece in vocab} == {
        piece: shape for piece, shape in expected.items() if piece in vocab
    }
    assert {"[PAD]", "[UNK]", "A", "a", "."} <= set(vocab)
