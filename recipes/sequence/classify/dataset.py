"""Turn labelled sequences into the dataset dir: stratified split, gaps filled, cut to max_length, padded arrays.

Files per split: ``{split}_x.npy`` (N, max_length, features) float32 raw values (NaN filled, zero padding),
``{split}_len.npy`` (N,) int64 steps kept, ``{split}_y.npy`` class indices. The per-feature mean and std of the
real training steps are in the manifest (the network normalises with them).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.data.splits import SPLITS, split_by_class
from aiaas_recipes.sequence.classify import builtin
from aiaas_recipes.sequence.classify.read import Sequences, read_folder, read_long_table
from aiaas_recipes.sequence.values import fill_missing


def check_settings(data_cfg: Any) -> None:
    val, test = data_cfg.split.val, data_cfg.split.test
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ConfigError(f"data.split.val={val} and data.split.test={test} must be fractions summing to less than 1")
    if not isinstance(data_cfg.max_length, int) or data_cfg.max_length < 1:
        raise ConfigError(f"data.max_length={data_cfg.max_length} must be a positive integer")


def source(data_cfg: Any) -> Path | None:
    """The user's file or folder (None: the built-in signals)."""
    if not data_cfg.path:
        return None
    path = Path(str(data_cfg.path)).expanduser().resolve()
    if not path.exists():
        raise ConfigError(f"data.path={path} does not exist")
    return path


def load(data_cfg: Any, seed: int) -> tuple[Sequences, str]:
    """The sequences and a description of where they came from."""
    path = source(data_cfg)
    if path is None:
        g = data_cfg.generated
        values, classes, labels = builtin.generate(g.per_class, g.min_length, g.max_length, g.noise, seed)
        found = Sequences(values=values, labels=[classes[i] for i in labels], features=list(builtin.FEATURES))
        found.where = [f"generated:{i}" for i in range(len(values))]
        return found, "built-in generated signals"
    if path.is_dir():
        return read_folder(path, data_cfg.time_column), str(path)
    return read_long_table(path, data_cfg), str(path)


def _check_classes(labels: list[str]) -> list[str]:
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ConfigError(f"found {len(classes)} class(es) ({', '.join(classes)}); classification needs at least 2")
    return classes


def _fill(found: Sequences) -> tuple[list[np.ndarray], int]:
    filled, count = [], 0
    for values in found.values:
        done, missing = fill_missing(values)
        filled.append(done)
        count += missing
    return filled, count


def normalisation(values: list[np.ndarray], train: np.ndarray) -> dict[str, list[float]]:
    """Per-feature mean and std over the real (finite) steps of the training sequences."""
    stacked = np.concatenate([values[i] for i in train]).astype(np.float64)
    mean, std = np.nanmean(stacked, 0), np.nanstd(stacked, 0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 1e-8), std, 1.0)  # a constant feature: left unscaled
    return {"mean": mean.round(8).tolist(), "std": std.round(8).tolist()}


def _write_split(out_dir: Path, split: str, values: list[np.ndarray], labels: np.ndarray, idx, size: int, fill):
    x = np.zeros((len(idx), size, len(fill)), np.float32)
    lengths = np.zeros(len(idx), np.int64)
    for row, i in enumerate(idx):
        kept = values[i][:size]
        x[row, : len(kept)] = np.where(np.isnan(kept), fill, kept)  # a feature missing all along: the train mean
        lengths[row] = len(kept)
    np.save(out_dir / f"{split}_x.npy", x)
    np.save(out_dir / f"{split}_len.npy", lengths)
    np.save(out_dir / f"{split}_y.npy", labels[idx])


def build(data_cfg: Any, seed: int, out_dir: Path) -> dict:
    check_settings(data_cfg)
    found, where = load(data_cfg, seed)
    if not found.values:
        first = found.skipped[0] if found.skipped else None
        why = f"{len(found.skipped)} skipped, e.g. {first['file']}: {first['reason']}" if first else "no sequence files"
        raise ConfigError(f"no usable sequences in {where} ({why})")
    classes = _check_classes(found.labels)
    labels = np.asarray([classes.index(label) for label in found.labels], dtype=np.int64)
    parts = split_by_class(labels, data_cfg.split.val, data_cfg.split.test, int(data_cfg.split.seed))
    values, filled = _fill(found)
    stats = normalisation(values, parts["train"])
    size = int(data_cfg.max_length)
    for split in SPLITS:
        _write_split(out_dir, split, values, labels, parts[split], size, np.asarray(stats["mean"], np.float32))
    lengths = np.asarray([len(v) for v in values])
    warnings = list(found.warnings)
    if filled:
        warnings.append(f"filled {filled} missing value(s) (NaN/inf) from their neighbours in the same sequence")
    truncated = int((lengths > size).sum())
    if truncated:
        warnings.append(f"{truncated} sequence(s) longer than data.max_length={size} steps were cut to it")
    return {
        "source": where,
        "classes": classes,
        "features": found.features,
        "splits": {split: int(len(parts[split])) for split in SPLITS},
        "counts": {split: dict(Counter(classes[i] for i in labels[parts[split]])) for split in SPLITS},
        "max_length": size,
        "lengths": {"min": int(lengths.min()), "median": float(np.median(lengths)), "max": int(lengths.max())},
        "truncated": truncated,
        "filled_values": filled,
        "normalisation": stats,
        "skipped": found.skipped,
        "skipped_what": "unusable sequence(s)",
        "warnings": warnings,
    }
