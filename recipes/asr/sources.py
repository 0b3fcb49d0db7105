"""Where the recordings and their transcripts are: a transcript manifest (CSV/JSONL of path,text), LibriSpeech
folders (``*.trans.txt``), or audio files each with a ``.txt`` of the same name beside it."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from aiaas_cli.errors import ConfigError
from aiaas_recipes.asr.formats import AUDIO_SUFFIXES
from aiaas_recipes.common.data.splits import SPLIT_NAMES

MANIFESTS = ("transcripts.csv", "transcripts.jsonl")
LAYOUTS = "a folder with transcripts.csv/.jsonl (path,text), LibriSpeech *.trans.txt, or *.wav + *.txt pairs"


@dataclass(frozen=True)
class Item:
    path: Path
    text: str  # as given; normalised when the dataset is built
    split: str | None  # from the manifest's split column or a train/val/test folder, else None
    speaker: str | None  # keeps one speaker's recordings in one split when known


def _split_of(value: str | None) -> str | None:
    return SPLIT_NAMES.get((value or "").strip().lower())


def _rows(path: Path) -> list[dict]:
    if path.suffix.lower() == ".jsonl":
        try:
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} line {exc.lineno}: not JSON ({exc.msg})", "one object per line") from None
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def scan_manifest(path: Path) -> list[Item]:
    """Items of a CSV/JSONL manifest with path and text (optionally split and speaker), paths relative to it."""
    rows = _rows(path)
    if not rows or not all(isinstance(row, dict) and {"path", "text"} <= set(row) for row in rows):
        raise ConfigError(f"{path} needs 'path' and 'text' in every row", "e.g. path,text then clips/a.wav,hello there")
    items = []
    for row in rows:
        speaker = row.get("speaker")
        audio = (path.parent / str(row["path"]).strip()).resolve()
        split = _split_of(row.get("split"))
        items.append(Item(audio, str(row["text"] or ""), split, None if speaker in (None, "") else str(speaker)))
    return items


def _folder_split(path: Path, root: Path) -> str | None:
    parts = path.relative_to(root).parts
    return _split_of(parts[0]) if len(parts) > 1 else None


def scan_librispeech(root: Path) -> list[Item]:
    """``SPEAKER-CHAPTER-N text`` lines of every ``*.trans.txt``; the audio is ``ID.flac`` (or .wav) beside it."""
    items = []
    for listing in sorted(root.rglob("*.trans.txt")):
        for line in listing.read_text(encoding="utf-8").splitlines():
            ident, _, text = line.strip().partition(" ")
            if not ident:
                continue
            audio = next((p for p in (listing.with_name(ident + s) for s in (".flac", ".wav")) if p.exists()), None)
            audio = audio or listing.with_name(ident + ".flac")  # reported as missing when the dataset is built
            items.append(Item(audio, text, _folder_split(listing, root), ident.split("-")[0]))
    return items


def scan_pairs(root: Path) -> list[Item]:
    """Audio files with a ``.txt`` transcript of the same name; audio without one is not an item."""
    items = []
    for audio in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()):
        if any(part.startswith(".") for part in audio.relative_to(root).parts):
            continue
        transcript = audio.with_suffix(".txt")
        if transcript.is_file():
            text = transcript.read_text(encoding="utf-8", errors="replace")
            items.append(Item(audio, text, _folder_split(audio, root), None))
    return items


def scan(path: Path) -> list[Item]:
    """Every recording with its transcript; raises ConfigError for a layout that cannot be used."""
    if not path.exists():
        raise ConfigError(f"data.path {path} does not exist", f"set data.path= to {LAYOUTS}")
    if path.is_file():
        items = scan_manifest(path)
    elif manifest := next((path / name for name in MANIFESTS if (path / name).is_file()), None):
        items = scan_manifest(manifest)
    else:
        items = scan_librispeech(path) or scan_pairs(path)
    if len(items) < 3:
        raise ConfigError(f"{path} holds {len(items)} transcribed recording(s); at least 3 are needed", LAYOUTS)
    return items
