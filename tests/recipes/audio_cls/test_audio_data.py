"""Decoding every format to mono at the model's rate, problems reported, the log-mel front end, parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from audiofiles import FORMATS, write_mixed, write_problems, write_tone
from omegaconf import OmegaConf

from aiaas_recipes.audio_cls import audio, dataset, features
from aiaas_recipes.audio_cls.serving import build_adapter
from aiaas_recipes.audio_cls.sources import scan

DATA = OmegaConf.create(
    {
        "sample_rate": 16000, "clip_seconds": 1.0, "min_seconds": 0.1, "max_seconds": 10.0, "trim_db": None,
        "n_mels": 40, "n_fft": 512, "split": {"val": 0.15, "test": 0.15, "seed": 0},
    }
)  # fmt: skip


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


def test_log_mel_puts_a_tone_in_its_band():
    mels = features.log_mel(tone(1000.0, 16000)[None], rate=16000, n_mels=40, win=400, hop=160, n_fft=512)
    assert mels.shape == (1, 40, 1 + (4000 - 400) // 160)
    centres = features.mel_filterbank(16000, 512, 40).argmax(axis=0) * 16000 / 512
    assert abs(centres[mels[0].mean(axis=1).argmax()] - 1000.0) < 150


def test_mixed_folder_builds_with_problems_reported_and_served_features_equal(tmp_path):
    root = write_mixed(tmp_path / "clips", per_class=7)
    expected = write_problems(root / "mid")
    out = tmp_path / "ds"
    out.mkdir()
    manifest = dataset.build(scan(root), out, DATA)
    reasons = {s["file"].rsplit("/", 1)[-1]: s["reason"] for s in manifest["skipped"]}
    assert reasons.keys() == expected.keys()
    assert all(fragment in reasons[name] for name, fragment in expected.items())
    assert sum(manifest["splits"].values()) == 21 and manifest["classes"] == ["high", "low", "mid"]

    # parity from the same bytes: the service's decode + batch gives the dataset's very features
    metadata = {"labels": manifest["classes"], **{k: v for k, v in manifest.items() if k in DATA_KEYS}}
    adapter = build_adapter(metadata)
    files = (out / "train_files.txt").read_text().splitlines()
    feeds = adapter.batch([adapter.decode(Path(f).read_bytes()) for f in files])
    np.testing.assert_allclose(feeds["features"], np.load(out / "train_x.npy"), atol=1e-5)


DATA_KEYS = ("rate", "clip", "n_mels", "win", "hop", "n_fft", "frames", "min_seconds", "max_seconds")


def test_csv_input_with_labels(tmp_path):
    write_tone(tmp_path / "a.wav", 300.0)
    write_tone(tmp_path / "b.wav", 900.0)
    (tmp_path / "list.csv").write_text("path,label\na.wav,low\nb.wav,mid\n")
    items = scan(tmp_path / "list.csv")
    assert [(i.path.name, i.label) for i in items] == [("a.wav", "low"), ("b.wav", "mid")]


def test_adapter_refuses_bad_uploads(tmp_path):
    from aiaas_cli.serving.runtime import BadInput

    meta = {"labels": ["a", "b"], "rate": 16000, "clip": 16000, "n_mels": 40, "win": 400, "hop": 160}
    adapter = build_adapter({**meta, "n_fft": 512, "min_seconds": 0.1, "max_seconds": 10.0}, max_seconds=2)
    with pytest.raises(BadInput) as info:
        adapter.decode(write_tone(tmp_path / "x.wav", 900.0, seconds=3.0).read_bytes())
    assert info.value.status == 413
    with pytest.raises(BadInput, match="ffmpeg"):
        adapter.decode(b"\x00\x00\x00\x20ftypM4A " + bytes(64))
    with pytest.raises(BadInput):
        adapter.decode("not bytes")


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
