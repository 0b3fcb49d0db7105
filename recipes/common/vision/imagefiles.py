"""An image folder's files decoded to uint8 arrays (in parallel processes), with their duplicates and channel
statistics: what every recipe that reads a folder of images (classes, identities, generation) needs."""

from __future__ import annotations

import hashlib
import warnings
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from aiaas_cli import console
from aiaas_recipes.common.vision.folders import Layout
from aiaas_recipes.common.vision.transforms import BadImage, decode

_SERIAL_BELOW = 256  # a process pool costs more than it saves on a few images


def _decode_file(job: tuple[str, int, str, float]) -> tuple[np.ndarray | None, str | None, str]:
    path, size, interpolation, crop_pct = job
    try:
        data = Path(path).read_bytes()
    except OSError as exc:  # permissions, a file removed mid-run, an I/O error: skip it like a bad image
        return None, f"cannot read file: {exc.strerror or exc}", ""
    digest = hashlib.sha1(data).hexdigest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about damaged metadata; the report covers it
            return decode(data, size, interpolation=interpolation, crop_pct=crop_pct), None, digest
    except BadImage as exc:
        return None, str(exc), digest


def decode_all(
    layout: Layout, size: int, workers: int, interpolation: str = "bilinear", crop_pct: float = 1.0
) -> list[tuple[np.ndarray | None, str | None, str]]:
    """Decode every item (in parallel processes), keeping their order."""
    jobs = [(str(layout.root / item.path), size, interpolation, crop_pct) for item in layout.items]
    results = []
    with console.progress("Decoding images", len(jobs)) as bar:
        if workers <= 1 or len(jobs) < _SERIAL_BELOW:
            for job in jobs:
                results.append(_decode_file(job))
                bar.advance()
            return results
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(_decode_file, jobs, chunksize=64):
                results.append(result)
                bar.advance()
    return results


def find_duplicates(digests: list[str], split_of: list[str], files: list[str]) -> dict:
    """Exact duplicate files; the ones that cross splits inflate test accuracy."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, digest in enumerate(digests):
        groups[digest].append(i)
    dup_groups = [g for g in groups.values() if len(g) > 1]
    crossing = [g for g in dup_groups if len({split_of[i] for i in g}) > 1]
    return {
        "duplicate_groups": len(dup_groups),
        "cross_split_groups": len(crossing),
        "cross_split_examples": [[files[i] for i in g] for g in crossing[:10]],
    }


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std in [0, 1] units, computed in chunks to bound memory."""
    total = np.zeros(3)
    squares = np.zeros(3)
    for start in range(0, len(images), 1024):
        chunk = images[start : start + 1024].reshape(-1, 3).astype(np.float64) / 255.0
        total += chunk.sum(axis=0)
        squares += (chunk**2).sum(axis=0)
    count = max(len(images) * images.shape[1] * images.shape[2], 1)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 1e-12))
    return mean.round(6).tolist(), std.round(6).tolist()


def write_splits(out_dir: Path, images: np.ndarray, labels: np.ndarray, files: list[str], parts: dict) -> list[str]:
    """Write each split's arrays and file list; return the split of every image."""
    split_of = [""] * len(files)
    for name, idx in parts.items():
        np.save(out_dir / f"{name}_x.npy", images[idx])
        np.save(out_dir / f"{name}_y.npy", labels[idx])
        (out_dir / f"{name}_files.txt").write_text("".join(files[i] + "\n" for i in idx))
        for i in idx:
            split_of[i] = name
    return split_of
