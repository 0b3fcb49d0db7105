"""Turn a scanned image folder into the dataset dir: uint8 arrays per split plus a manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_cli import console
from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.data.splits import SPLITS, split_by_class
from aiaas_recipes.common.vision.folders import Layout
from aiaas_recipes.common.vision.imagefiles import channel_stats, decode_all, find_duplicates, write_splits


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


def _check_classes(classes: list[str], labels: np.ndarray, where: str = "") -> None:
    """Every class needs readable images (``where``: only those of one split counted)."""
    counts = np.bincount(labels, minlength=len(classes))
    empty = [name for i, name in enumerate(classes) if counts[i] == 0]
    if empty:
        raise ConfigError(
            f"class folder(s) with no readable images{where}: {', '.join(empty)}", "add images or remove the folder"
        )


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
    split_of = write_splits(out_dir, images, labels, files, parts)
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
