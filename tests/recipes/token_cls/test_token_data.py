"""token-cls input: tag schemes, CoNLL and JSONL files with their own problems, the dataset dir they make."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aiaas_cli import config, recipes
from aiaas_cli.errors import ConfigError
from aiaas_recipes.token_cls import dataset, records, sources
from aiaas_recipes.token_cls import tags as tagging
from aiaas_recipes.token_cls.records import RecordError

GOOD = "Ana\tB-PER\nCosta\tI-PER\nvisited\tO\nLyon\tB-LOC\n.\tO\n"


def data_cfg(path, *overrides):
    return config.compose(recipes.load("token-cls"), [f"data.path={path}", *overrides]).data


@pytest.mark.parametrize(
    ("tags", "bio", "repaired"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], ["B-PER", "I-PER", "O", "B-LOC"], 0),
        (["I-PER", "I-PER", "O", "I-LOC"], ["B-PER", "I-PER", "O", "B-LOC"], 2),  # IOB1 / broken BIO
        (["B-PER", "I-LOC"], ["B-PER", "B-LOC"], 1),  # I- of another type starts a new entity
        (["B-PER", "E-PER", "S-LOC", "I-LOC"], ["B-PER", "I-PER", "B-LOC", "B-LOC"], 1),  # BIOES
        (["U-ORG", "B-PER", "L-PER"], ["B-ORG", "B-PER", "I-PER"], 0),  # BILOU
    ],
)
def test_tags_are_read_into_bio_and_repairs_counted(tags, bio, repaired):
    converted = tagging.to_bio(tags)
    assert converted.tags == bio and converted.repaired == repaired


@pytest.mark.parametrize("tag", ["PER", "X-PER", "B-", "B", "", "B- "])
def test_unknown_tags_are_refused(tag):
    with pytest.raises(tagging.TagError):
        tagging.to_bio(["O", tag])


def test_tokens_become_text_and_character_spans():
    record = records.from_tokens(
        ["Zoë", "Müller", "flew", "to", "São", "Paulo"], ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC"]
    )
    assert record.text == "Zoë Müller flew to São Paulo"
    assert [record.text[s:e] for s, e, _ in record.entities] == ["Zoë Müller", "São Paulo"]


@pytest.mark.parametrize(
    ("text", "entities", "reason"),
    [
        ("Ana lives in Lyon", [{"start": 13, "end": 30, "label": "LOC"}], "outside the text"),
        ("Ana lives in Lyon", [{"start": 13, "end": 17, "label": "LOC", "text": "Paris"}], "says 'Paris'"),
        (
            "Ana lives in Lyon",
            [{"start": 0, "end": 3, "label": "PER"}, {"start": 2, "end": 9, "label": "X"}],
            "overlap",
        ),
        ("Ana lives in Lyon", [{"start": 3, "end": 4, "label": "PER"}], "only whitespace"),
        ("Ana lives in Lyon", [{"start": "0", "end": 3, "label": "PER"}], "integers"),
        ("Ana lives in Lyon", [{"start": 0, "end": 3, "label": ""}], "label"),
        ("Ana lives in Lyon", "Ana", "must be a list"),
        ("", [], "missing or empty"),
    ],
)
def test_spans_that_do_not_match_the_text_are_refused(text, entities, reason):
    with pytest.raises(RecordError, match=reason):
        records.from_spans(text, entities)


def test_spans_are_trimmed_and_doccano_lists_accepted():
    record = records.from_spans("Ana lives in Lyon", [[12, 17, "LOC"], {"start": 0, "end": 4, "label": "PER"}])
    assert record.entities == [(0, 3, "PER"), (13, 17, "LOC")]


def test_conll_file_with_its_own_problems(tmp_path):
    path = tmp_path / "mine.conll"
    path.write_text(
        "-DOCSTART- -X- O O\n\n"
        + GOOD
        + "\n"
        + "Bob\tI-PER\nworks\tO\nat\tO\nAcme\tI-ORG\n\n"  # IOB1-style: repaired, kept
        + "Broken\tB-PER\nline\n\n"  # a line without a tag: the sentence is skipped
        + "Odd\tFOO\n\n"  # an unknown tag: skipped
        + "Eve\tS-PER\nin\tO\nNew\tB-LOC\nYork\tE-LOC\n",  # BIOES
        encoding="utf-8",
    )
    corpus = sources.Corpus()
    sources.read_conll(path.read_text(), path.name, corpus, 0, -1)
    assert [r.text for r in corpus.records] == ["Ana Costa visited Lyon .", "Bob works at Acme", "Eve in New York"]
    assert corpus.repaired == 2 and corpus.schemes == {"BIO", "BIOES"}
    assert [s["file"] for s in corpus.skipped] == ["mine.conll:14", "mine.conll:17"]
    assert "one column" in corpus.skipped[0]["reason"] and "FOO" in corpus.skipped[1]["reason"]


def test_jsonl_file_with_its_own_problems(tmp_path):
    lines = [
        {"tokens": ["Ana", "in", "Lyon"], "tags": ["B-PER", "O", "B-LOC"]},
        {"text": "Ana Costa in Lyon", "entities": [{"start": 0, "end": 9, "label": "PER"}]},
        {"tokens": ["Ana", "in"], "tags": ["B-PER"]},  # lengths differ
        {"tokens": ["Ana"], "tags": [1]},  # numeric tags: no names to read them by
        {"text": "Londoner here", "entities": [{"start": 0, "end": 6, "label": "LOC"}]},  # inside a word: later
        ["not", "an", "object"],
        {"words": []},
    ]
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{broken\n", encoding="utf-8")
    corpus = sources.Corpus()
    sources.read_jsonl(path.read_text(), path.name, corpus)
    assert len(corpus.records) == 3
    reasons = {s["file"]: s["reason"] for s in corpus.skipped}
    assert set(reasons) == {f"mine.jsonl:{n}" for n in (3, 4, 6, 7, 8)}
    assert "2 tokens but 1 tags" in reasons["mine.jsonl:3"] and "not JSON" in reasons["mine.jsonl:8"]


def test_dataset_from_a_user_file(tmp_path):
    from aiaas_recipes.token_cls.smoke import conll_file

    path = conll_file(tmp_path / "data" / "ner.conll", count=40)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\nBob\tI-PER\nsmiled\tO\n\nBad\tNOPE\n")
    out = tmp_path / "out"
    out.mkdir()
    manifest = dataset.build(data_cfg(path, "data.max_length=8", "data.tokenizer.vocab_size=120"), out)
    assert manifest["types"] == ["DATE", "LOC", "ORG", "PER"] and manifest["repaired_tags"] == 1
    assert [s["reason"] for s in manifest["skipped"]] == ["tag 'NOPE' is not O or B-/I-/E-/S-/L-/U- followed by a type"]
    assert any("repaired 1" in line for line in manifest["warnings"])
    assert sum(manifest["splits"].values()) == 41
    arrays = dataset.load_split(out, "train")
    assert arrays["ids"].shape[1] == 8 and manifest["rows"]["train"] > manifest["splits"]["train"]  # long ones wrap
    # every word carries a tag on its first sub-token, and a sentence's rows are consecutive
    assert (np.diff(arrays["sentence"]) >= 0).all()
    assert ((arrays["tags"] >= 0) <= (arrays["ids"] != 0)).all()


def test_entity_inside_a_word_is_skipped_and_strict_refuses_it(tmp_path):
    from aiaas_cli.errors import UserError
    from aiaas_cli.stages import preprocess

    spans = [[0, 9, "PER"], [14, 17, "PER"], [21, 25, "LOC"]]
    rows = [{"text": f"Ana Costa met Bob in Lyon number {i}", "entities": spans} for i in range(20)]
    rows.append({"text": "Londoner Ana", "entities": [[0, 6, "LOC"]]})
    path = tmp_path / "spans.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    manifest = dataset.build(data_cfg(path, "data.tokenizer.vocab_size=60"), out)
    assert manifest["skipped"] == [
        {"file": "spans.jsonl:21", "reason": "entity 0-6 ('London', LOC) starts or ends inside a word"}
    ]
    assert manifest["duplicates"]["removed_from_test"] + manifest["duplicates"]["removed_from_val"] == 0
    recipe = recipes.load("token-cls")
    cfg = config.compose(recipe, [f"data.path={path}", "data.tokenizer.vocab_size=60", "strict=true"])
    with pytest.raises(UserError, match=r"skipped 1 sentence\(s\), e.g. spans.jsonl:21: entity 0-6"):
        preprocess.build(cfg, recipe)


def test_folder_with_named_splits_and_bad_settings(tmp_path):
    from aiaas_recipes.token_cls.smoke import conll_file, jsonl_file

    conll_file(tmp_path / "train.conll", count=30)
    jsonl_file(tmp_path / "dev.jsonl", count=8, seed=1)
    jsonl_file(tmp_path / "test.jsonl", count=8, seed=2)
    out = tmp_path / "out"
    out.mkdir()
    manifest = dataset.build(data_cfg(tmp_path, "data.tokenizer.vocab_size=120"), out)
    assert manifest["splits"]["train"] == 30 and 0 < manifest["splits"]["val"] <= 8
    with pytest.raises(ConfigError, match="data.split.val"):
        dataset.check_settings(data_cfg(tmp_path, "data.split.val=0.7", "data.split.test=0.5"))
    with pytest.raises(ConfigError, match="cannot tell the format"):
        sources.detect_format(tmp_path / "x.csv", None)


def test_training_batches_hide_pieces_as_unk_never_padding_or_tags():
    from aiaas_recipes.token_cls.datamodule import RowsDataset

    ids = np.tile(np.arange(2, 12, dtype=np.int32), (40, 1))
    ids[:, 7:] = 0
    ids[:20, 5:] = 0  # shorter rows: their padding stays inside the batch
    tags = np.where(ids != 0, 3, dataset.IGNORE).astype(np.int16)
    hidden_ids, hidden_tags = RowsDataset(ids, tags, unk_rate=0.3, seed=1).__getitems__(list(range(40)))
    plain_ids, plain_tags = RowsDataset(ids, tags).__getitems__(list(range(40)))
    assert hidden_ids.shape == plain_ids.shape == (40, 7)  # cut to the longest row
    assert np.array_equal(plain_ids.numpy(), ids[:, :7]) and np.array_equal(hidden_tags, plain_tags)
    assert (hidden_ids[:20, 5:] == 0).all()
    share = float((hidden_ids[20:] == 1).float().mean())
    assert 0.15 < share < 0.45 and set(np.unique(hidden_ids[hidden_ids != 1]).tolist()) <= set(range(9))
