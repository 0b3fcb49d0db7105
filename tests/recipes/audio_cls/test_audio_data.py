"""A folder of every format built with its problems reported, the CSV layout, parity with the service's adapter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from audiofiles import write_mixed, write_problems, write_tone
from omegaconf import OmegaConf

from aiaas_recipes.audio_cls import dataset
from aiaas_recipes.audio_cls.serving import build_adapter
from aiaas_recipes.audio_cls.sources import scan

DATA = OmegaConf.create(
    {
        "sample_rate": 16000, "clip_seconds": 1.0, "min_seconds": 0.1, "max_seconds": 10.0, "trim_db": None,
        "n_mels": 40, "n_fft": 512, "split": {"val": 0.15, "test": 0.15, "seed": 0},
    }
)  # fmt: skip


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
