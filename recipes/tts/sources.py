"""Where a speech corpus comes from: the LJSpeech layout (``wavs/`` + ``metadata.csv`` with ``id|text|normalized``)
or a folder of ``name.wav`` + ``name.txt`` pairs. Rows and files that cannot be used are returned with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiaas_cli.errors import ConfigError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


@dataclass(frozen=True)
class Utterance:
    id: str
    path: Path
    text: str


def _skip(where: str, reason: str) -> dict:
    return {"file": where, "reason": reason}


def read_metadata(root: Path) -> tuple[list[Utterance], list[dict]]:
    """LJSpeech: one ``id|text|normalized`` row per recording (the normalized column may be missing or empty)."""
    found, skipped, seen = [], [], set()
    table = root / "metadata.csv"
    for number, line in enumerate(table.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{table}:{number}"
        fields = line.split("|")
        if len(fields) not in (2, 3):
            skipped.append(_skip(where, f"expected id|text|normalized, got {len(fields)} field(s)"))
            continue
        name, text = fields[0].strip(), (fields[2] if len(fields) == 3 and fields[2].strip() else fields[1]).strip()
        path = root / "wavs" / f"{name}.wav"
        if not name or not text:
            skipped.append(_skip(where, "empty id or text"))
        elif name in seen:
            skipped.append(_skip(where, f"id '{name}' appears twice"))
        elif not path.is_file():
            skipped.append(_skip(where, f"no audio file wavs/{name}.wav"))
        else:
            seen.add(name)
            found.append(Utterance(name, path, text))
    return found, skipped


def read_pairs(root: Path) -> tuple[list[Utterance], list[dict]]:
    """Every ``*.wav`` (or other audio) with a ``.txt`` of the same name beside it."""
    found, skipped = [], []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in AUDIO_SUFFIXES or any(p.startswith(".") for p in path.relative_to(root).parts):
            continue
        transcript = path.with_suffix(".txt")
        text = transcript.read_text(encoding="utf-8", errors="replace").strip() if transcript.is_file() else ""
        if not text:
            skipped.append(_skip(str(path), f"no transcript (an empty or missing {transcript.name})"))
            continue
        found.append(Utterance(str(path.relative_to(root).with_suffix("")), path, " ".join(text.split())))
    return found, skipped


def scan(root: Path) -> tuple[list[Utterance], list[dict]]:
    """The corpus at ``root``, in a stable order, and what was skipped."""
    if not root.is_dir():
        raise ConfigError(f"data.path {root} is not a folder", "pass an LJSpeech-style folder (wavs/ + metadata.csv)")
    found, skipped = read_metadata(root) if (root / "metadata.csv").is_file() else read_pairs(root)
    if not found:
        raise ConfigError(
            f"no usable recordings in {root}",
            "expected wavs/ + metadata.csv (id|text|normalized) or name.wav + name.txt pairs",
        )
    return found, skipped
