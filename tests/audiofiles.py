"""Audio files for the audio tests (common/audio, audio-cls, asr): tones in every format a phone or recorder makes,
and broken ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

PITCHES = {"low": 300.0, "mid": 900.0, "high": 2400.0}
# (suffix, sample rate, channels, soundfile format, subtype)
FORMATS = [
    (".wav", 8000, 1, "WAV", "PCM_U8"),
    (".wav", 44100, 2, "WAV", "PCM_16"),
    (".wav", 22050, 1, "WAV", "PCM_24"),
    (".wav", 16000, 1, "WAV", "FLOAT"),
    (".flac", 48000, 2, "FLAC", "PCM_16"),
    (".ogg", 16000, 1, "OGG", "VORBIS"),
    (".mp3", 22050, 1, "MP3", "MPEG_LAYER_III"),
]


def tone(hz: float, rate: int, seconds: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.5 * np.sin(2 * np.pi * hz * t) + rng.normal(0, 0.02, len(t))
    return np.repeat(wave[:, None], channels, axis=1).astype(np.float32)


def write_tone(path: Path, hz: float, fmt=FORMATS[1], seconds: float = 0.6, seed: int = 0) -> Path:
    _, rate, channels, major, subtype = fmt
    soundfile.write(path, tone(hz, rate, seconds, channels, seed), rate, format=major, subtype=subtype)
    return path


def write_mixed(root: Path, per_class: int = 14) -> Path:
    """Class folders of tones, cycling through every format."""
    for name, hz in PITCHES.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            fmt = FORMATS[i % len(FORMATS)]
            scale = 1 + 0.03 * np.sin(i)
            write_tone(root / name / f"{i:03d}{fmt[0]}", hz * scale, fmt, seconds=0.4 + 0.05 * (i % 5), seed=i)
    return root


def write_problems(folder: Path) -> dict[str, str]:
    """A corrupt, an empty, a headless WAV, a too short, a 30-second and an M4A file; name -> reason fragment."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(40)))
    (folder / "empty.wav").write_bytes(b"")
    (folder / "headless.wav").write_bytes(b"RIFF" + bytes(100))
    write_tone(folder / "short.wav", 900.0, seconds=0.02)
    write_tone(folder / "long.wav", 900.0, FORMATS[3], seconds=30.0)
    (folder / "voice.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + bytes(64))
    return {
        "corrupt.wav": "cannot decode",
        "empty.wav": "empty",
        "headless.wav": "damaged WAV file",
        "short.wav": "too short",
        "long.wav": "too long",
        "voice.m4a": "ffmpeg",
    }
