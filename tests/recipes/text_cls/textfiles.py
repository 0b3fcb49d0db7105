"""Small generated corpora for the text-cls tests: three topics a model can learn in seconds."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

WORDS = {
    "sports": ["goal", "match", "team", "coach", "score", "league", "striker", "referee"],
    "food": ["pasta", "sauce", "bake", "recipe", "garlic", "oven", "dessert", "spicy"],
    "tech": ["laptop", "server", "code", "chip", "battery", "network", "kernel", "robot"],
}
FILLER = ["the", "a", "today", "really", "was", "quite", "and", "very", "my", "new"]


def make_rows(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (text, label) rows, classes in turn, each text unique (a running number)."""
    rng = random.Random(seed)
    labels = list(WORDS)
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        words = rng.choices(WORDS[label], k=4) + rng.choices(FILLER, k=3)
        rng.shuffle(words)
        rows.append((" ".join(words) + f" #{i}", label))
    return rows


def write_csv(
    path: Path, rows: list, header=("review", "class"), delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list, keys=("text", "label")) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(dict(zip(keys, row))) + "\n" for row in rows), encoding="utf-8")
    return path


def write_folder(root: Path, rows: list) -> Path:
    for i, (text, label) in enumerate(rows):
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / f"{i:04d}.txt").write_text(text, encoding="utf-8")
    return root
