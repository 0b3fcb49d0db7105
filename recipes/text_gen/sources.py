"""Reading text-gen's input: plain text files (language modelling) and JSONL instructions, a file or a folder of
them; or the built-in instruction set. Broken lines and unreadable files are set aside with their reason."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiaas_recipes.common.text.lines import json_records

TEXT_SUFFIXES = (".txt", ".md", ".text")
JSONL_SUFFIXES = (".jsonl", ".json")


@dataclass
class Example:
    """One instruction: the conversation before the answer, and the answer the loss is computed on."""

    messages: list[dict]
    answer: str
    task: str = ""


@dataclass
class Corpus:
    """Plain documents and instructions of one split."""

    documents: list[str] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)


def example_of(record: Any) -> Example | str:
    """An Example from a JSONL record, or the reason it cannot be one."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if "messages" in record:
        messages = record["messages"]
        ok = (
            isinstance(messages, list)
            and messages
            and all(
                isinstance(m, dict) and isinstance(m.get("content"), str) and isinstance(m.get("role"), str)
                for m in messages
            )
        )
        if not ok:
            return "messages must be a list of {role, content} with string values"
        if messages[-1]["role"] != "assistant" or len(messages) < 2:
            return "the last message must be the assistant's answer, after at least one other"
        prompt = [{"role": m["role"], "content": m["content"]} for m in messages[:-1]]
        return Example(prompt, messages[-1]["content"])
    prompt, completion = record.get("prompt"), record.get("completion")
    if not isinstance(prompt, str) or not isinstance(completion, str):
        return 'needs "prompt" and "completion" strings, or "messages"'
    if not prompt.strip() or not completion.strip():
        return "empty prompt or completion"
    return Example([{"role": "user", "content": prompt}], completion, str(record.get("task", "")))


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    suffixes = TEXT_SUFFIXES + JSONL_SUFFIXES
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
                  and not any(s.startswith(".") for s in p.relative_to(path).parts))  # fmt: skip


def read(path: Path, encoding: str, skipped: list[dict]) -> Corpus:
    """Every document and instruction under ``path``; what cannot be read goes to ``skipped``."""
    corpus = Corpus()
    for file in _files(path):
        try:
            text = file.read_text(encoding=encoding).removeprefix("\ufeff")
        except (OSError, UnicodeDecodeError) as exc:
            skipped.append({"file": str(file), "reason": f"cannot read: {exc}"})
            continue
        if file.suffix.lower() in JSONL_SUFFIXES:
            for where, record in json_records(text, str(file), skipped):
                example = example_of(record)
                if isinstance(example, str):
                    skipped.append({"file": where, "reason": example})
                else:
                    corpus.examples.append(example)
        else:
            # paragraphs (blank-line separated) are the documents: a split then holds whole paragraphs
            corpus.documents += [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return corpus


def split(corpus: Corpus, val: float, test: float, seed: int) -> dict[str, Corpus]:
    """A seeded split of documents and of examples, each at the given shares (at least one held-out item each
    where there are two or more)."""
    out = {name: Corpus() for name in ("train", "val", "test")}
    for attr in ("documents", "examples"):
        items = list(getattr(corpus, attr))
        random.Random(seed).shuffle(items)
        n_test = max(int(len(items) * test), 1 if len(items) > 2 else 0)
        n_val = max(int(len(items) * val), 1 if len(items) > 3 else 0)
        parts = {"test": items[:n_test], "val": items[n_test : n_test + n_val], "train": items[n_test + n_val :]}
        for name, part in parts.items():
            setattr(out[name], attr, part)
    return out


def builtin(seed: int, limit: int | None) -> dict[str, Corpus]:
    from aiaas_recipes.text_gen.builtin import instructions

    splits = instructions(seed=seed, limit=limit)
    return {
        name: Corpus(
            examples=[Example([{"role": "user", "content": r["prompt"]}], r["completion"], r["task"]) for r in rows]
        )  # fmt: skip
        for name, rows in splits.items()
    }
