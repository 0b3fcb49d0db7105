"""Where the recordings are: class folders (optionally inside train/ val/ test/), or a CSV of path,label."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.data.splits import SPLIT_NAMES


@dataclass(frozen=True)
class Item:
    path: Path
    label: str
    split: str | None  # given by the layout or the CSV's split column, else None


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in path.relative_to(root).parts)


def _class_items(folder: Path, split: str | None) -> list[Item]:
    items = []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in class_dir.rglob("*") if p.is_file() and not _hidden(p, class_dir))
        items += [Item(f, class_dir.name, split) for f in files]
    return items


def _scan_folder(root: Path) -> list[Item]:
    tops = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    splits = {SPLIT_NAMES.get(p.name.lower()): p for p in tops}
    if tops and None not in splits:  # every top folder is a split
        if "train" not in splits:
            raise ConfigError(f"{root} is split into folders but has no train/ folder")
        return [item for split, folder in splits.items() for item in _class_items(folder, split)]
    return _class_items(root, None)


def _scan_csv(path: Path) -> list[Item]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"path", "label"} <= set(rows[0]):
        raise ConfigError(
            f"{path} needs a header with 'path' and 'label' columns", "e.g. path,label then clips/a.wav,yes"
        )
    items = []
    for row in rows:
        split = SPLIT_NAMES.get((row.get("split") or "").strip().lower())
        items.append(Item((path.parent / row["path"].strip()).resolve(), str(row["label"]).strip(), split))
    return items


def scan(path: Path) -> list[Item]:
    """Every audio item with its label; raises ConfigError for a layout that cannot be used."""
    if not path.exists():
        raise ConfigError(f"data.path {path} does not exist", "set data.path=/path/to/class/folders or a CSV")
    items = _scan_csv(path) if path.is_file() else _scan_folder(path)
    labels = sorted({item.label for item in items})
    if len(labels) < 2:
        raise ConfigError(
            f"{path} has {len(labels)} class(es); keyword spotting needs at least two",
            "one sub-folder of recordings per keyword, or a CSV with a label column",
        )
    return items
