"""An identity folder (one sub-folder per person or place) to the dataset dir, split by identity: the val and test
identities are never seen in training (test is an open set). Optional verification pairs in LFW's pairs.txt format."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.vision.folders import Layout
from aiaas_recipes.common.vision.imagefiles import channel_stats, decode_all, find_duplicates

SPLIT_ORDER = ("train", "val", "test")


def check_settings(data_cfg) -> None:
    size, val, test = data_cfg.image_size, data_cfg.split.val, data_cfg.split.test
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ConfigError(f"data.image_size={size} is not a positive number of pixels", "e.g. data.image_size=32")
    if not (0 < val < 1 and 0 < test < 1 and val + test < 1):
        raise ConfigError(
            f"data.split.val={val} and data.split.test={test} must be fractions of the identities in (0, 1) that sum "
            "to less than 1", "e.g. data.split.val=0.1 data.split.test=0.2",
        )  # fmt: skip


def split_identities(names: list[str], val: float, test: float, seed: int, in_test: set[str]) -> dict[str, list[str]]:
    """Seeded split of the identity names: at least two identities in val and test, one in train; ``in_test``
    (those of the verification pairs) always in test."""
    rng = np.random.default_rng(seed)
    rest = [names[i] for i in rng.permutation(len(names)) if names[i] not in in_test]
    n = len(names)
    if n < 5:
        raise ConfigError(f"{n} identities are too few to split by identity", "give at least 5 identity folders")
    n_test = max(round(n * test) - len(in_test), 0 if in_test else 2)
    n_val = max(round(n * val), 2)
    if n_test + n_val >= len(rest):
        raise ConfigError("the verification pairs leave no identity to train on", "use fewer pairs or more identities")
    return {
        "test": sorted(in_test | set(rest[:n_test])),
        "val": sorted(rest[n_test : n_test + n_val]),
        "train": sorted(rest[n_test + n_val :]),
    }


def read_pairs(path: Path, layout: Layout) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """LFW pairs.txt: ``name i j`` (same person) or ``name1 i name2 j`` (different), i counted from 1 in the sorted
    files of the name's folder; a header line of counts is skipped. ((file, file, same) pairs, skipped lines)."""
    files: dict[str, list[str]] = {}
    for item in layout.items:
        files.setdefault(item.label, []).append(item.path)
    pairs, skipped = [], []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        fields = line.split()
        if len(fields) == 3:
            ends = [(fields[0], fields[1]), (fields[0], fields[2])]
        elif len(fields) == 4:
            ends = [(fields[0], fields[1]), (fields[2], fields[3])]
        else:
            if fields and not all(f.isdigit() for f in fields):
                skipped.append(f"line {number}: expected 3 or 4 fields")
            continue
        try:
            found = [sorted(files[name])[int(index) - 1] for name, index in ends]
        except (KeyError, IndexError, ValueError):
            skipped.append(f"line {number}: no such identity or image")
            continue
        pairs.append((found[0], found[1], len(fields) == 3))
    return pairs, skipped


def build(layout: Layout, out_dir: Path, data_cfg, model_data: dict | None = None) -> dict:
    """Decode, split by identity, write ``{split}_x.npy``/``{split}_y.npy`` (and ``test_pairs.npy``); return the
    manifest. Identity indices put the training identities first (0..train_identities-1, the margin head's rows)."""
    check_settings(data_cfg)
    if layout.presplit:
        raise ConfigError("image-embed splits by identity itself", "give one folder per identity, without train/val/")
    size = model_data["input_size"] if model_data else data_cfg.image_size
    resize = {key: model_data[key] for key in ("interpolation", "crop_pct")} if model_data else {}
    pairs, bad_lines = read_pairs(Path(str(data_cfg.pairs)), layout) if data_cfg.get("pairs") else ([], [])
    decoded = decode_all(layout, size, data_cfg.preprocess_workers, **resize)
    skipped = [{"file": it.path, "reason": err} for it, (_, err, _) in zip(layout.items, decoded) if err]
    keep = [i for i, (arr, _, _) in enumerate(decoded) if arr is not None]
    present = sorted({layout.items[i].label for i in keep})
    in_test = {f.split("/")[0] for a, b, _ in pairs for f in (a, b)}  # item paths are "identity/file"
    split = data_cfg.split
    parts = split_identities(present, split.val, split.test, split.seed, in_test & set(present))
    classes = [name for part in SPLIT_ORDER for name in parts[part]]
    index = {name: i for i, name in enumerate(classes)}
    files, split_of = [layout.items[i].path for i in keep], {}
    labels = np.asarray([index[layout.items[i].label] for i in keep], dtype=np.int64)
    images = np.stack([decoded[i][0] for i in keep])
    bounds = np.cumsum([0] + [len(parts[p]) for p in SPLIT_ORDER])
    rows = {p: np.flatnonzero((labels >= bounds[k]) & (labels < bounds[k + 1])) for k, p in enumerate(SPLIT_ORDER)}
    for name, idx in rows.items():
        np.save(out_dir / f"{name}_x.npy", images[idx])
        np.save(out_dir / f"{name}_y.npy", labels[idx])
        (out_dir / f"{name}_files.txt").write_text("".join(files[i] + "\n" for i in idx))
        split_of.update({i: name for i in idx})
    given = _write_pairs(out_dir, pairs, [files[i] for i in rows["test"]])
    mean, std = (model_data["mean"], model_data["std"]) if model_data else channel_stats(images[rows["train"]])
    return {
        "classes": classes,
        "identities": {p: len(parts[p]) for p in SPLIT_ORDER},
        "train_identities": len(parts["train"]),
        "splits": {name: len(idx) for name, idx in rows.items()},
        "image_size": size,
        "mean": mean,
        "std": std,
        **({**resize, "data_config": model_data} if model_data else {}),
        "pairs": given,
        "skipped": skipped + [{"file": str(data_cfg.pairs), "reason": line} for line in bad_lines],
        "duplicates": find_duplicates([decoded[i][2] for i in keep], [split_of[i] for i in range(len(keep))], files),
    }


def _write_pairs(out_dir: Path, pairs: list[tuple[str, str, bool]], test_files: list[str]) -> int:
    """The verification pairs as rows of the test split (i, j, same) in ``test_pairs.npy``; their number."""
    row = {name: i for i, name in enumerate(test_files)}
    kept = [(row[a], row[b], int(same)) for a, b, same in pairs if a in row and b in row]
    if kept:
        np.save(out_dir / "test_pairs.npy", np.asarray(kept, dtype=np.int64))
    return len(kept)
