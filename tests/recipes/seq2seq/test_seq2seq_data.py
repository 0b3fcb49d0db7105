"""seq2seq data: every layout (TSV, CSV, JSONL with named fields, Moses folder, documents with summaries), bad lines
skipped and reported with their reason, --strict, splits, the tokenizer round trip and the built-in data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from pairfiles import pairs, write_moses, write_tsv

from aiaas_cli.errors import ConfigError
from aiaas_recipes.seq2seq import builtin, dataset, sources, tokens

DATA = OmegaConf.load(Path(__file__).parents[3] / "conf" / "data" / "parallel.yaml")


def _cfg(**changes) -> OmegaConf:
    cfg = OmegaConf.merge(DATA, {"tokenizer": {"vocab_size": 200}})
    for key, value in changes.items():
        OmegaConf.update(cfg, key, value)
    return cfg


def _reasons(skipped: list[dict]) -> dict[str, str]:
    return {s["file"]: s["reason"].lower() for s in skipped}


def _check(skipped: list[dict], expected: dict[str, str]) -> None:
    found = _reasons(skipped)
    for where, word in expected.items():
        assert word in found.get(where, ""), (where, found)


def test_tsv_with_broken_lines_keeps_the_good_ones_and_reports_the_rest(tmp_path):
    expected = write_tsv(tmp_path / "pairs.tsv", count=30)
    skipped = []
    found = sources.read_pairs(tmp_path / "pairs.tsv", _cfg(), skipped)
    manifest = dataset.build(found, skipped, tmp_path, _cfg(max_chars=2000))
    _check(manifest["skipped"], expected)
    assert sum(manifest["splits"].values()) == 30 - len(expected)
    assert len(manifest["skipped"]) == len(expected)


def test_moses_folder_pairs_lines_and_names_its_splits(tmp_path):
    expected = write_moses(tmp_path / "corpus", count=30)
    skipped = []
    found = sources.read_pairs(tmp_path / "corpus", _cfg(), skipped)
    _check(skipped, expected)
    assert {p.split for p in found} == {"test", "train"}  # from the file names; val is carved out of train
    assert sum(p.split == "test" for p in found) == 5  # the pairs the shorter test file has
    assert not found[0].source[0].isdigit() and found[0].target[0].isdigit()  # en is the source, the digits the target
    flipped = sources.read_pairs(tmp_path / "corpus", _cfg(source_lang="de"), [])
    assert flipped[0].source == found[0].target


def test_moses_folder_of_other_languages_needs_the_direction(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    for lang in ("fr", "de", "it"):
        (root / f"train.{lang}").write_text("un\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="3 languages"):
        sources.read_pairs(root, _cfg(), [])


def test_jsonl_and_csv_with_named_fields(tmp_path):
    rows = pairs(6)
    path = tmp_path / "data.jsonl"
    records = [json.dumps({"de": t, "en": s, "split": "test" if i == 0 else ""}) for i, (s, t) in enumerate(rows)]
    path.write_text("\n".join([*records, "{not json", json.dumps({"en": 3, "de": "x"})]) + "\n", encoding="utf-8")
    skipped = []
    found = sources.read_pairs(path, _cfg(source_field="en", target_field="de"), skipped)
    assert [(p.source, p.target) for p in found] == rows and found[0].split == "test"
    assert _reasons(skipped) == {
        "data.jsonl:7": "not json (expecting property name enclosed in double quotes)",
        "data.jsonl:8": "source and target must be strings",
    }
    with pytest.raises(ConfigError, match="no source column"):
        sources.read_pairs(path, _cfg(), [])
    table = tmp_path / "data.csv"
    table.write_text('src,tgt\n"one, two",1 2\n', encoding="utf-8")
    assert [(p.source, p.target) for p in sources.read_pairs(table, _cfg(), [])] == [("one, two", "1 2")]


def test_documents_with_summaries_beside(tmp_path):
    builtin.write_summaries(tmp_path / "docs", {"train": 4, "test": 2})
    (tmp_path / "docs" / "train" / "lonely.txt").write_text("No summary here.", encoding="utf-8")
    skipped = []
    found = sources.read_pairs(tmp_path / "docs", _cfg(), skipped)
    assert len(found) == 6 and sum(p.split == "test" for p in found) == 2
    assert _reasons(skipped) == {"train/lonely.txt": "no .summary beside it"}
    assert sources.detect_format(tmp_path / "docs") == "summaries"


def test_dataset_arrays_tokenizer_and_length_filter(tmp_path):
    found = [sources.Pair(s, t, f"x:{i}") for i, (s, t) in enumerate(pairs(60))]
    skipped = []
    manifest = dataset.build(found, skipped, tmp_path, _cfg(max_source_tokens=30, max_target_tokens=20))
    assert all("too long" in s["reason"] for s in skipped)
    assert sum(manifest["splits"].values()) + len(skipped) == 60 and manifest["splits"]["val"] > 0
    src, tgt = dataset.load_arrays(tmp_path, "train")
    assert src.shape[1] == 30 and tgt.shape[1] == 20
    assert all(tokens.EOS_ID in row for row in tgt)  # every target ends
    tokenizer = tokens.load((tmp_path / tokens.FILE).read_text(encoding="utf-8"))
    record = dataset.read_pairs(tmp_path, "train")[0]
    ids = tgt[0][: list(tgt[0]).index(tokens.EOS_ID)]
    assert tokens.decode(tokenizer, ids) == record["target"]  # spaces and digits come back as they were
    assert [tokenizer.id_to_token(i) for i in tokens.encode(tokenizer, ["2024"])[0]] == ["▁", "2", "0", "2", "4"]


def test_builtin_numbers_are_deterministic_and_disjoint(tmp_path):
    a = builtin.write_numbers(tmp_path / "a.tsv", {"train": 50, "test": 20}).read_text(encoding="utf-8")
    b = builtin.write_numbers(tmp_path / "b.tsv", {"train": 50, "test": 20}).read_text(encoding="utf-8")
    assert a == b
    rows = [line.split("\t") for line in a.splitlines()[1:]]
    train = {r[0] for r in rows if r[2] == "train"}
    assert not train & {r[0] for r in rows if r[2] == "test"}
    assert all(set(r[1]) <= set("0123456789-:.; EUR") for r in rows)


def test_strict_makes_skipped_pairs_an_error(cli, tmp_path):
    write_tsv(tmp_path / "pairs.tsv", count=12)
    out = cli("preprocess", "seq2seq", f"data.path={tmp_path / 'pairs.tsv'}", "--strict", expect=1)
    assert "skipped 4 unusable pair(s)" in out.stderr
