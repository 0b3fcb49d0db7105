"""Parallel-text files for the seq2seq tests: a Moses folder and a TSV, each with broken lines of every kind."""

from __future__ import annotations

from pathlib import Path

from aiaas_recipes.seq2seq.builtin import number_pair


def pairs(count: int, seed: int = 0) -> list[tuple[str, str]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    return [number_pair(rng) for _ in range(count)]


def write_moses(root: Path, count: int = 30) -> dict[str, str]:
    """train.en/train.de (the German side in digits), test.en/test.de one line short, an undecodable line and an
    empty side; returns {where: reason word} of the lines that must be skipped."""
    root.mkdir(parents=True, exist_ok=True)
    rows = pairs(count)
    src = [s.encode() for s, _ in rows]
    tgt = [t.encode() for _, t in rows]
    src[3] = b"caf\xe9 au lait"  # latin-1, not UTF-8
    tgt[5] = b"   "  # an empty target
    (root / "train.en").write_bytes(b"\n".join(src) + b"\n")
    (root / "train.de").write_bytes(b"\n".join(tgt) + b"\n")
    test = pairs(6, seed=1)
    (root / "test.en").write_text("\n".join(s for s, _ in test) + "\n", encoding="utf-8")
    (root / "test.de").write_text("\n".join(t for _, t in test[:-1]) + "\n", encoding="utf-8")  # misaligned
    return {"train.en:4": "not utf-8", "train.en:6": "empty target", "test.en:6": "misaligned"}


def write_tsv(path: Path, count: int = 30) -> dict[str, str]:
    """A TSV (source, target) with a missing target, a line of three fields, an undecodable line and a far too long
    source; returns {where: reason word} of the lines that must be skipped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [b"source\ttarget"] + [f"{s}\t{t}".encode() for s, t in pairs(count)]
    lines[2] = b"forty-two\t"
    lines[4] = b"one\t1\textra"
    lines[6] = b"\xff\xfe broken\t7"
    lines[8] = ("seven " * 2000).encode() + b"\t7"
    path.write_bytes(b"\n".join(lines) + b"\n")
    name = path.name
    return {f"{name}:3": "empty target", f"{name}:5": "fields", f"{name}:7": "not utf-8", f"{name}:9": "too long"}
