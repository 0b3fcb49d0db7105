"""Recordings for the asr tests: sentences spoken by espeak-ng in every format a phone or recorder makes, with
transcripts, and broken files."""

from __future__ import annotations

import csv
from pathlib import Path

import audiofiles
import numpy as np
import soundfile

from aiaas_recipes.asr.builtin import sentences
from aiaas_recipes.common.audio.decoding import resample
from aiaas_recipes.common.audio.espeak import speaker

# (suffix, sample rate, channels, soundfile format, subtype): the audio tests' formats but MP3, and 16-bit at 8 kHz
FORMATS = [(".wav", 8000, 1, "WAV", "PCM_16"), *(f for f in audiofiles.FORMATS[1:] if f[3] != "MP3")]


def spoken(text: str, rate: int, voice: str = "en+m3") -> np.ndarray:
    engine = speaker()
    return resample(engine.say(text, voice, 170, 50), engine.rate, rate)


def write_clip(path: Path, samples16k: np.ndarray, fmt) -> Path:
    _, rate, channels, major, subtype = fmt
    mono = resample(samples16k, 16000, rate)
    soundfile.write(path, np.repeat(mono[:, None], channels, axis=1), rate, format=major, subtype=subtype)
    return path


def write_mixed(root: Path, count: int = 12, voices=("en+m3", "en-us+f2", "en-gb-x-rp+m1")) -> list[tuple[str, str]]:
    """``count`` sentences cycling through every format and voice, each with a .txt of its transcript."""
    root.mkdir(parents=True, exist_ok=True)
    texts = sentences({"train": count, "val": 0, "test": 0}, seed=7)["train"]
    written = []
    for i, text in enumerate(texts):
        fmt = FORMATS[i % len(FORMATS)]
        path = write_clip(root / f"{i:03d}{fmt[0]}", spoken(text, 16000, voices[i % len(voices)]), fmt)
        path.with_suffix(".txt").write_text(text.upper() + "!\n")  # normalised when the dataset is built
        written.append((path.name, text))
    return written


def write_manifest(root: Path, rows: list[tuple[str, str]], name: str = "transcripts.csv") -> Path:
    with (root / name).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "text"])
        writer.writerows(rows)
    return root / name


def write_problems(folder: Path) -> dict[str, str]:
    """A corrupt, an empty, a 30-second, an M4A file and one with an empty transcript: name -> reason fragment."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(40)))
    (folder / "empty.wav").write_bytes(b"")
    speech = spoken("call alice at seven", 16000)
    long = np.concatenate([speech, np.zeros(16000 * 30 - len(speech), np.float32)])
    soundfile.write(folder / "long.wav", long, 16000, subtype="PCM_16")
    (folder / "voice.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + bytes(64))
    soundfile.write(folder / "silent_text.wav", speech, 16000, subtype="PCM_16")
    for name in ("corrupt", "empty", "long", "voice", "silent_text"):
        (folder / f"{name}.txt").write_text("?" if name == "silent_text" else "call alice at seven")
    return {
        "corrupt.wav": "cannot decode",
        "empty.wav": "empty",
        "long.wav": "too long",
        "voice.m4a": "ffmpeg",
        "silent_text.wav": "empty transcript",
    }
