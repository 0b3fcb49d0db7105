"""Decoding every format to mono at the model's rate, problems named, clips fitted, silence trimmed, bombs refused."""

from __future__ import annotations

import numpy as np
import pytest
from audiofiles import FORMATS, write_problems, write_tone

from aiaas_recipes.common.audio import decoding as audio


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f"{f[3]}-{f[4]}-{f[1]}Hz-{f[2]}ch")
def test_every_format_decodes_to_mono_16k(tmp_path, fmt):
    path = write_tone(tmp_path / f"a{fmt[0]}", 900.0, fmt, seconds=0.5)
    samples = audio.load(path.read_bytes(), 16000, 0.1, 10.0)
    assert samples.ndim == 1 and samples.dtype == np.float32
    assert abs(len(samples) - 8000) < 1200  # MP3 and Vorbis add encoder padding
    assert abs(dominant_hz(samples, 16000) - 900.0) < 10


def test_problems_are_named(tmp_path):
    expected = write_problems(tmp_path)
    for name, reason in expected.items():
        with pytest.raises(audio.BadAudio, match=reason):
            audio.load((tmp_path / name).read_bytes(), 16000, 0.1, 10.0)


def test_fit_clip_pads_and_cuts_around_the_sound():
    assert audio.fit_clip(np.ones(10, np.float32), 16).tolist() == [0, 0, 0] + [1] * 10 + [0, 0, 0]
    long = np.zeros(100, np.float32)
    long[70:80] = 1
    assert audio.fit_clip(long, 20).sum() == 10


def test_trim_silence_drops_quiet_edges():
    rate = 16000
    quiet = np.zeros(rate // 2, np.float32)
    loud = tone(440.0, rate)
    trimmed = audio.trim_silence(np.concatenate([quiet, loud, quiet]), rate, 40)
    assert abs(len(trimmed) - len(loud)) <= rate // 50


def tone(hz, rate):
    return np.sin(2 * np.pi * hz * np.arange(rate // 4) / rate).astype(np.float32)


def _silent(seconds: int, channels: int, fmt: str = "FLAC", rate: int = 16000) -> bytes:
    import io

    import soundfile

    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", rate, channels, format=fmt, subtype="PCM_16") as out:
        for _ in range(seconds):
            out.write(np.zeros((rate, channels), np.int16))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("seconds", "channels", "fmt", "reason"), [(60, 8, "FLAC", "too long"), (1, 40, "WAV", "channels")]
)
def test_an_audio_bomb_is_refused_before_it_is_decoded(seconds, channels, fmt, reason):
    """A few KB of compressed silence declaring a minute of 8 channels would decode to 30 MB of float32."""
    import tracemalloc

    bomb = _silent(seconds, channels, fmt)
    tracemalloc.start()
    with pytest.raises(audio.BadAudio, match=reason):
        audio.load(bomb, 16000, 0.1, 3.0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1_000_000, f"{peak / 1e6:.1f} MB allocated to refuse it"
