"""Tiny annotated files for quick checks (the contract test, `smoke_overrides`, the tests): built-in sentences
written out as CoNLL or JSONL, the way a user's files look."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aiaas_recipes.token_cls import builtin
from aiaas_recipes.token_cls.records import Record

TOKEN = re.compile(r"\w+|[^\w\s]")


def conll_lines(record: Record) -> list[str]:
    """One "token<TAB>tag" line per word (split on whitespace and punctuation), BIO tags."""
    lines = []
    for match in TOKEN.finditer(record.text):
        tag = "O"
        for start, end, kind in record.entities:
            if start <= match.start() and match.end() <= end:
                tag = f"{'B' if match.start() == start else 'I'}-{kind}"
        lines.append(f"{match.group()}\t{tag}")
    return lines


def sentences(count: int, seed: int = 0) -> list[Record]:
    """``count`` built-in sentences (train pools, then test pools: a file of both kinds of names)."""
    corpus = builtin.generate({"train": count - count // 4, "val": 0, "test": count // 4}, seed)
    return corpus["train"] + corpus["test"]


def conll_file(path: Path, count: int = 60, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = ["\n".join(conll_lines(record)) for record in sentences(count, seed)]
    path.write_text("-DOCSTART- -X- O O\n\n" + "\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


def jsonl_file(path: Path, count: int = 60, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for record in sentences(count, seed):
        entities = [{"start": s, "end": e, "label": k} for s, e, k in record.entities]
        lines.append(json.dumps({"text": record.text, "entities": entities}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
