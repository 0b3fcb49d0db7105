"""Lines and JSONL records as the text recipes read them."""

from __future__ import annotations

from aiaas_recipes.common.text.lines import json_records, lines


def test_lines_split_on_newlines_only():
    assert lines('{"text": "a\u2028b\u0085c"}\r\nnext\n') == ['{"text": "a\u2028b\u0085c"}', "next", ""]


def test_json_records_say_where_they_are_and_set_bad_lines_aside():
    skipped: list[dict] = []
    found = list(json_records('{"a": 1}\n\n  \nnot json\n[2]\n', "f.jsonl", skipped))
    assert found == [("f.jsonl:1", {"a": 1}), ("f.jsonl:5", [2])]
    assert [s["file"] for s in skipped] == ["f.jsonl:4"] and skipped[0]["reason"].startswith("not JSON")
