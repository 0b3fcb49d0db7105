"""Reading labelled texts: column guessing, every input format, broken lines, encodings, skipped rows."""

from __future__ import annotations

import pandas as pd
import pytest
from omegaconf import OmegaConf
from textfiles import make_rows, write_csv, write_folder, write_jsonl

from aiaas_cli.errors import ConfigError, UserError
from aiaas_recipes.text_cls import sources


def cfg(**data):
    return OmegaConf.create({"text_column": None, "label_column": None, **data})


def read(path, fmt=None, encoding="utf-8", **columns):
    return sources.read(path, sources.detect_format(path, fmt), cfg(**columns), encoding)


def test_csv_columns_are_guessed_and_named_rows_skipped(tmp_path):
    rows = [*make_rows(6), ("", "food"), ("no label here", ""), ("   ", "tech")]
    table = read(write_csv(tmp_path / "data.csv", rows, header=("Review", "Sentiment")))
    assert len(table.texts) == 6 and table.labels[:3] == ["sports", "food", "tech"]
    assert [s["reason"] for s in table.skipped] == ["empty text", "missing label", "empty text"]
    assert table.skipped[0]["file"] == "data.csv:8"  # header is line 1


def test_custom_columns_must_exist(tmp_path):
    path = write_csv(tmp_path / "d.csv", make_rows(3), header=("body_txt", "y"))
    with pytest.raises(ConfigError, match="cannot tell which column"):
        read(path)
    assert len(read(path, text_column="body_txt", label_column="y").texts) == 3
    with pytest.raises(ConfigError, match="no column 'nope'") as info:
        read(path, text_column="nope", label_column="y")
    assert info.value.hint == "columns: body_txt, y"


def test_broken_line_is_skipped_with_its_line_number(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('text,label\nfine one,a\nthree,fields,here\n"quoted, comma",b\n')
    table = read(path)
    assert table.texts == ["fine one", "quoted, comma"]
    assert table.skipped == [{"file": "d.csv:3", "reason": "3 fields, the header has 2"}]


def test_non_utf8_names_the_line_and_encoding_option_reads_it(tmp_path):
    path = write_csv(tmp_path / "old.csv", [("fine", "a"), ("ok", "b"), ("café crème", "a")], encoding="latin-1")
    with pytest.raises(UserError, match=r"old.csv:4: bytes that are not utf-8") as info:
        read(path)
    assert "data.encoding=latin-1" in info.value.hint
    assert read(path, encoding="latin-1").texts[-1] == "café crème"
    with pytest.raises(ConfigError, match="not a known text encoding"):
        read(path, encoding="klingon")


def test_tsv_jsonl_parquet_and_folder_give_the_same_rows(tmp_path):
    rows = make_rows(9)
    tsv = read(write_csv(tmp_path / "d.tsv", rows, header=("sentence", "label"), delimiter="\t"))
    jsonl = read(write_jsonl(tmp_path / "d.jsonl", rows))
    pd.DataFrame(rows, columns=["comment", "category"]).to_parquet(tmp_path / "d.parquet")
    parquet = read(tmp_path / "d.parquet")
    folder = read(write_folder(tmp_path / "folder", rows))
    for table in (tsv, jsonl, parquet):
        assert list(zip(table.texts, table.labels)) == rows
    assert sorted(zip(folder.texts, folder.labels)) == sorted(rows)


def test_jsonl_bad_lines_are_skipped(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a b", "label": "x"}\n{not json\n[1, 2]\n{"text": "line\u2028sep", "label": "y"}\n')
    table = read(path)
    assert table.texts == ["a b", "line\u2028sep"]
    assert [s["file"] for s in table.skipped] == ["d.jsonl:2", "d.jsonl:3"]


def test_unknown_format_and_missing_builtin(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="cannot tell the format"):
        sources.detect_format(tmp_path / "data.xlsx", None)
    monkeypatch.setitem(sources.BUILTINS, "gone", ("no-such-dist-aiaas", "x.csv", "utf-8"))
    with pytest.raises(UserError, match="not installed"):
        sources.builtin_file("gone")


def test_a_line_with_broken_quoting_is_skipped_and_reading_goes_on(tmp_path):
    """Issue 13 #11: a tweet that opens a quote, closes it and goes on is one skipped line, not the end of the run."""
    path = tmp_path / "tweets.tsv"
    lines = ["text\tlabel", "first tweet\tpos", '"quoted" and then more words\tneg', "third tweet\tneg",
             '"never closed\tpos', "fifth tweet\tpos", "sixth tweet\tneg"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    table = read(path)
    assert table.texts == ["first tweet", "third tweet", "fifth tweet", "sixth tweet"]
    assert table.where == ["tweets.tsv:2", "tweets.tsv:4", "tweets.tsv:6", "tweets.tsv:7"]
    assert [s["file"] for s in table.skipped] == ["tweets.tsv:3", "tweets.tsv:5"]
    assert "broken quoting" in table.skipped[0]["reason"]


def test_quoted_fields_with_newlines_still_read(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('text,label\n"two\nlines, one text",a\nnext,b\n')
    table = read(path)
    assert table.texts == ["two\nlines, one text", "next"]
    assert table.where == ["d.csv:2", "d.csv:4"] and table.skipped == []
