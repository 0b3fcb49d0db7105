"""Turn a scanned image folder into the dataset dir: uint8 arrays per split plus a manifest."""

from __future__ import annotations

import hashlib
import warnings
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from aiaas_cli import console
from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.data.splits import SPLITS, split_by_class
from aiaas_recipes.common.vision.transforms import BadImage, decode
from aiaas_recipes.image_cls.scan import Layout

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


def assign_splits(given: list[str | None], labels: np.ndarray, split_cfg) -> dict[str, np.ndarray]:
    """Use the folder's own split where it has one; carve what is missing out of train."""
    if given[0] is None:
        return split_by_class(labels, split_cfg.val, split_cfg.test, split_cfg.seed)
    given_arr = np.asarray(given)
    parts = {name: np.flatnonzero(given_arr == name) for name in SPLITS}
    missing = [name for name in ("val", "test") if len(parts[name]) == 0]
    if missing:
        console.info(f"the data has no {' or '.join(missing)} split: taking it from train")
        train = parts["train"]
        fractions = {name: getattr(split_cfg, name) if name in missing else 0.0 for name in ("val", "test")}
        carved = split_by_class(labels[train], fractions["val"], fractions["test"], split_cfg.seed)
        for name in ("train", *missing):
            parts[name] = train[carved[name]]
    return parts


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


def _check_classes(classes: list[str], labels: np.ndarray, where: str = "") -> None:
    """Every class needs readable images (``where``: only those of one split counted)."""
    counts = np.bincount(labels, minlength=len(classes))
    empty = [name for i, name in enumerate(classes) if counts[i] == 0]
    if empty:
        raise ConfigError(
            f"class folder(s) with no readable images{where}: {', '.join(empty)}", "add images or remove the folder"
        )


def _write_splits(out_dir: Path, images: np.ndarray, labels: np.ndarray, files: list[str], parts: dict) -> list[str]:
    """Write each split's arrays and file list; return the split of every image."""
    split_of = [""] * len(files)
    for name, idx in parts.items():
        np.save(out_dir / f"{name}_x.npy", images[idx])
        np.save(out_dir / f"{name}_y.npy", labels[idx])
        (out_dir / f"{name}_files.txt").write_text("".join(files[i] + "\n" for i in idx))
        for i in idx:
            split_of[i] = name
    return split_of


def check_settings(data_cfg) -> None:
    """Reject sizes and split fractions that would give empty images or overlapping splits."""
    size, val, test = data_cfg.image_size, data_cfg.split.val, data_cfg.split.test
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ConfigError(f"data.image_size={size} is not a positive number of pixels", "e.g. data.image_size=64")
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ConfigError(
            f"data.split.val={val} and data.split.test={test} must be fractions in [0, 1) that sum to less than 1",
            "e.g. data.split.val=0.15 data.split.test=0.15",
        )


def build(layout: Layout, out_dir: Path, data_cfg, model_data: dict | None = None) -> dict:
    """Decode, split and write ``{split}_x.npy``/``{split}_y.npy``; return the manifest. ``model_data``: a pretrained
    model's own preprocessing (size, interpolation, crop, mean/std), used instead of data.image_size and the training
    set's statistics."""
    check_settings(data_cfg)
    size = model_data["input_size"] if model_data else data_cfg.image_size
    resize = {key: model_data[key] for key in ("interpolation", "crop_pct")} if model_data else {}
    decoded = decode_all(layout, size, data_cfg.preprocess_workers, **resize)
    skipped = [{"file": it.path, "reason": err} for it, (_, err, _) in zip(layout.items, decoded) if err]
    keep = [i for i, (arr, _, _) in enumerate(decoded) if arr is not None]
    items = [layout.items[i] for i in keep]
    class_index = {name: i for i, name in enumerate(layout.classes)}
    labels = np.asarray([class_index[it.label] for it in items], dtype=np.int64)
    _check_classes(layout.classes, labels)
    parts = assign_splits([it.split for it in items], labels, data_cfg.split)
    _check_classes(layout.classes, labels[parts["train"]], " in train/")  # a given split may lack a class
    images = np.stack([decoded[i][0] for i in keep])
    files = [it.path for it in items]
    split_of = _write_splits(out_dir, images, labels, files, parts)
    mean, std = (model_data["mean"], model_data["std"]) if model_data else channel_stats(images[parts["train"]])
    recorded = {**resize, "data_config": model_data} if model_data else {}
    return {
        "classes": layout.classes,
        "counts": _counts(labels, parts, layout.classes),
        "splits": {name: len(idx) for name, idx in parts.items()},
        "image_size": size,
        "mean": mean,
        "std": std,
        **recorded,
        "presplit": layout.presplit,
        "skipped": skipped,
        "duplicates": find_duplicates([decoded[i][2] for i in keep], split_of, files),
    }


def _counts(labels: np.ndarray, parts: dict[str, np.ndarray], classes: list[str]) -> dict[str, dict[str, int]]:
    """Images per split per class."""
    return {
        name: dict(zip(classes, np.bincount(labels[idx], minlength=len(classes)).tolist()))
        for name, idx in parts.items()
    }
