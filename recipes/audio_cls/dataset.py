"""Decode, split and featurise the recordings: log-mel arrays per split plus a manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_cli.errors import ConfigError
from aiaas_recipes.audio_cls.sources import Item
from aiaas_recipes.common.audio import decoding, features
from aiaas_recipes.common.audio.recordings import decode_each, read_limits
from aiaas_recipes.common.data.splits import split_by_class


def front_end(data_cfg) -> dict:
    """Sample rate, clip length and log-mel settings: what the model (and the service) expects."""
    rate = int(data_cfg.sample_rate)
    return {
        "rate": rate,
        "clip": int(round(float(data_cfg.clip_seconds) * rate)),
        "n_mels": int(data_cfg.n_mels),
        "win": int(round(0.025 * rate)),
        "hop": int(round(0.010 * rate)),
        "n_fft": int(data_cfg.n_fft),
    }


def clip_of(data: bytes, front: dict, limits: dict) -> np.ndarray:
    """One model-length clip from a file's bytes (raises decoding.BadAudio)."""
    return decoding.fit_clip(decoding.load(data, front["rate"], **limits), front["clip"])


def _splits(items: list[Item], labels: np.ndarray, split_cfg) -> dict[str, np.ndarray]:
    given = [item.split for item in items]
    if all(s is not None for s in given) and {"train", "val", "test"} <= set(given):
        arr = np.asarray(given)
        return {name: np.flatnonzero(arr == name) for name in ("train", "val", "test")}
    return split_by_class(labels, float(split_cfg.val), float(split_cfg.test), int(split_cfg.seed))


def build(items: list[Item], out_dir: Path, data_cfg, front: dict | None = None) -> dict:
    """Write ``{split}_x.npy`` (log-mels, or a hub model's normalised waveforms when ``front`` says so),
    ``{split}_y.npy`` and ``{split}_files.txt``; return the manifest."""
    front, limits = front or front_end(data_cfg), read_limits(data_cfg)
    clips, skipped = decode_each(items, lambda item: clip_of(item.path.read_bytes(), front, limits))
    keep = [i for i, clip in enumerate(clips) if clip is not None]
    classes = sorted({items[i].label for i in keep})
    if len(classes) < 2:
        raise ConfigError(f"only {len(classes)} class(es) have readable audio", "see the skipped files above")
    kept = [items[i] for i in keep]
    labels = np.asarray([classes.index(item.label) for item in kept], dtype=np.int64)
    mels = features.model_inputs(np.stack([clips[i] for i in keep]), front)
    parts = _splits(kept, labels, data_cfg.split)
    for name, idx in parts.items():
        np.save(out_dir / f"{name}_x.npy", mels[idx])
        np.save(out_dir / f"{name}_y.npy", labels[idx])
        (out_dir / f"{name}_files.txt").write_text("".join(str(kept[i].path) + "\n" for i in idx))
    counts = {
        name: dict(zip(classes, np.bincount(labels[idx], minlength=len(classes)).tolist()))
        for name, idx in parts.items()
    }
    return {
        "classes": classes,
        "splits": {name: len(idx) for name, idx in parts.items()},
        "counts": counts,
        "frames": int(mels.shape[-1]),
        **front,
        **limits,
        "skipped": skipped,
        "skipped_what": "unusable audio file(s)",
    }
