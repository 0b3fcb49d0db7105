"""Find the images of an ImageFolder-style directory and catch layout mistakes early."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiaas_cli.errors import ConfigError

SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
JUNK_NAMES = {"__MACOSX", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Item:
    path: str  # relative to the data root
    label: str
    split: str | None  # given by the folder layout, else None


@dataclass
class Layout:
    root: Path
    items: list[Item]
    classes: list[str]
    presplit: bool


def is_hidden(path: Path) -> bool:
    return path.name.startswith(".") or path.name in JUNK_NAMES


def visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not is_hidden(p))


def visible_files(folder: Path) -> list[Path]:
    """Every file below ``folder``, skipping hidden files and folders (.ipynb_checkpoints, ...)."""
    found = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if path.is_file() and not any(is_hidden(Path(p)) for p in parts):
            found.append(path)
    return found


def _check_case_clash(classes: list[str], where: Path) -> None:
    seen: dict[str, str] = {}
    for name in classes:
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise ConfigError(
                f"class folders '{other}' and '{name}' in {where} differ only by case",
                "merge or rename them: they collide on case-insensitive file systems",
            )


def _class_items(folder: Path, root: Path, split: str | None) -> tuple[list[str], list[Item]]:
    classes = [d.name for d in visible_dirs(folder)]
    _check_case_clash(classes, folder)
    items = [Item(str(f.relative_to(root)), name, split) for name in classes for f in visible_files(folder / name)]
    return classes, items


def _scan_presplit(root: Path, split_dirs: dict[str, Path]) -> Layout:
    if "train" not in split_dirs:
        raise ConfigError(f"{root} is split into {', '.join(split_dirs)} but has no train/ folder")
    per_split, items = {}, []
    for split, folder in split_dirs.items():
        per_split[split], split_items = _class_items(folder, root, split)
        items += split_items
    train = set(per_split["train"])
    for split, classes in per_split.items():
        if set(classes) != train:
            missing, extra = sorted(train - set(classes)), sorted(set(classes) - train)
            raise ConfigError(
                f"class folders differ between train/ and {split_dirs[split].name}/: "
                f"missing {missing or 'none'}, extra {extra or 'none'}",
                "every split needs the same class folders",
            )
    return Layout(root, items, sorted(train), presplit=True)


def _split_dirs(top: list[Path]) -> dict[str, Path]:
    """The split folders among ``top``; two folders for one split (val/ and valid/) are ambiguous."""
    found: dict[str, Path] = {}
    for folder in top:
        split = SPLIT_NAMES.get(folder.name.lower())
        if split and split in found:
            raise ConfigError(
                f"folders '{found[split].name}' and '{folder.name}' in {folder.parent} are both a {split} split",
                "keep one of them",
            )
        if split:
            found[split] = folder
    return found


def _check_mixed(root: Path, top: list[Path], split_dirs: dict[str, Path]) -> None:
    """train/ and val/ next to other folders is a mix-up (one split name alone may be a class: valid/invalid)."""
    others = sorted(d.name for d in top if d not in split_dirs.values())
    if len(split_dirs) >= 2 and others:
        names = sorted(d.name for d in split_dirs.values())
        raise ConfigError(
            f"data root {root} mixes split folders ({', '.join(names)}) with other folders ({', '.join(others)})",
            "move the other folders out, or put the class folders inside the split folders",
        )


def check_root(root: Path) -> None:
    """The data root exists, is a readable folder and holds something."""
    if not root.exists():
        raise ConfigError(f"data root {root} does not exist", "set data.root=/path/to/images")
    if not root.is_dir():
        raise ConfigError(f"data root {root} is not a directory", "set data.root to the folder that holds the images")
    try:
        entries = list(root.iterdir())
    except OSError as exc:
        raise ConfigError(f"cannot read data root {root}: {exc.strerror or exc}", "check its permissions") from None
    if all(is_hidden(p) for p in entries):
        raise ConfigError(f"data root {root} is empty", "put each class's images in its own sub-folder")


def scan(root: Path) -> Layout:
    """List the images under ``root`` (one folder per class, or train/ val/ test/ splits)."""
    check_root(root)
    top = visible_dirs(root)
    split_dirs = _split_dirs(top)
    _check_mixed(root, top, split_dirs)
    if top and len(split_dirs) == len(top):
        layout = _scan_presplit(root, split_dirs)
    else:
        classes, items = _class_items(root, root, None)
        layout = Layout(root, items, sorted(classes), presplit=False)
    if not layout.classes:
        raise ConfigError(f"data root {root} has no class folders", "put each class's images in its own sub-folder")
    if len(layout.classes) < 2:
        raise ConfigError(
            f"data root {root} has a single class ({layout.classes[0]})", "a classifier needs at least two classes"
        )
    return layout
