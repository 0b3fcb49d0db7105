"""Decode every image once, check its boxes against it, split, and write arrays + a manifest.

Images are resized (whole, not cropped) to the model's square input; boxes are scaled with them, so a box maps
back to the original pixels by the inverse scale. Every problem is reported ({"file", "kind", "reason"}) in
manifest["skipped"]; the preprocess stage makes them errors under --strict.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from aiaas_cli import console
from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.vision.transforms import BadImage, decode_whole
from aiaas_recipes.image_det.readers import Record, Source, problem

SPLITS = ("train", "val", "test")
MIN_SIDE = 1.0  # pixels: a box narrower or flatter than this after clipping is dropped


def clean_boxes(record: Record, width: int, height: int, problems: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The record's boxes in pixels, clipped to the image; degenerate ones dropped. Each change is reported."""
    boxes = record.boxes * np.float32([width, height, width, height]) if record.normalized else record.boxes.copy()
    limit = np.float32([width, height, width, height])
    clipped = np.clip(boxes, 0, limit)
    for i in np.nonzero(np.abs(clipped - boxes).max(1, initial=0) > 0.5)[0]:
        shown = ", ".join(f"{v:.1f}" for v in boxes[i])
        problems.append(problem(record.name, "box_clipped", f"box [{shown}] reaches past the {width}x{height} image"))
    keep = ((clipped[:, 2] - clipped[:, 0]) >= MIN_SIDE) & ((clipped[:, 3] - clipped[:, 1]) >= MIN_SIDE)
    for i in np.nonzero(~keep)[0]:
        shown = ", ".join(f"{v:.1f}" for v in boxes[i])
        problems.append(problem(record.name, "box_dropped", f"box [{shown}] has (almost) no area after clipping"))
    return clipped[keep], record.labels[keep]


def load(records: list[Record], size: int, problems: list[dict]) -> tuple[list, list[int]]:
    """Per usable record: (image, boxes in model pixels, labels, (width, height), digest); and their indices."""
    loaded, kept = [], []
    with console.progress("Reading images and boxes", len(records)) as bar:
        for i, record in enumerate(records):
            bar.advance()
            try:
                data = record.image.read_bytes()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # Pillow warns about damaged metadata; the report covers it
                    image, (width, height) = decode_whole(data, size)
            except (BadImage, OSError) as exc:
                reason = str(getattr(exc, "strerror", None) or exc)
                problems.append(problem(record.name, "unreadable_image", f"{reason}: skipped"))
                continue
            boxes, labels = clean_boxes(record, width, height, problems)
            scaled = boxes * np.float32([size / width, size / height] * 2)
            loaded.append((image, scaled, labels, (width, height), hashlib.sha256(data).hexdigest()))
            kept.append(i)
    return loaded, kept


def assign_splits(splits: list[str | None], split_cfg) -> np.ndarray:
    """Each record's split: the layout's where given; the rest (or missing val/test) carved from train, seeded."""
    out = np.asarray([s if s in SPLITS else "train" for s in splits], dtype=object)
    free = np.nonzero(out == "train")[0]
    order = np.random.default_rng(split_cfg.seed).permutation(free)
    start = 0
    for split in ("test", "val"):
        if split in splits:
            continue
        n = min(int(round(len(free) * split_cfg[split])), max(len(free) - start - 1, 0))
        out[order[start : start + n]] = split
        start += n
    return out


def cross_split_duplicates(digests: list[str], splits: np.ndarray) -> int:
    seen: dict[str, set] = {}
    for digest, split in zip(digests, splits):
        seen.setdefault(digest, set()).add(split)
    return sum(len(where) > 1 for where in seen.values())


def write_split(out_dir: Path, split: str, items: list, names: list[str], paths: list[str]) -> None:
    """{split}_x.npy (N, S, S, 3) uint8, {split}_boxes.npy (M, 4), _labels.npy (M,), _offsets.npy (N + 1,)."""
    size = items[0][0].shape[0] if items else 1
    images = np.stack([it[0] for it in items]) if items else np.zeros((0, size, size, 3), np.uint8)
    counts = [len(it[2]) for it in items]
    np.save(out_dir / f"{split}_x.npy", images)
    np.save(
        out_dir / f"{split}_boxes.npy", np.concatenate([it[1] for it in items] or [np.zeros((0, 4))]).astype(np.float32)
    )
    np.save(out_dir / f"{split}_labels.npy", np.concatenate([it[2] for it in items] or [np.zeros(0)]).astype(np.int64))
    np.save(out_dir / f"{split}_offsets.npy", np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
    np.save(out_dir / f"{split}_sizes.npy", np.asarray([it[3] for it in items], np.int64).reshape(-1, 2))
    (out_dir / f"{split}_files.txt").write_text("".join(name + "\n" for name in names))
    (out_dir / f"{split}_paths.txt").write_text("".join(path + "\n" for path in paths))


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    pixels = images.reshape(-1, 3).astype(np.float64) / 255.0
    return pixels.mean(0).round(6).tolist(), np.maximum(pixels.std(0), 1e-6).round(6).tolist()


def problem_lines(problems: list[dict]) -> list[str]:
    """One line per kind of problem: its count and up to two examples."""
    lines = []
    for kind, count in Counter(p["kind"] for p in problems).items():
        examples = "; ".join([f"{p['file']}: {p['reason']}" for p in problems if p["kind"] == kind][:2])
        lines.append(f"{kind}: {count} (e.g. {examples})")
    return lines


def build(source: Source, out_dir: Path, data_cfg) -> dict:
    size, problems = int(data_cfg.image_size), list(source.problems)
    loaded, kept = load(source.records, size, problems)
    if not loaded:
        first = problems[0]["reason"] if problems else "no images found"
        raise ConfigError(f"no usable images in {source.root}", f"first problem: {first}")
    splits = assign_splits([source.records[i].split for i in kept], data_cfg.split)
    names = [source.records[i].name for i in kept]
    for split in SPLITS:
        idx = np.nonzero(splits == split)[0]
        paths = [str(source.records[kept[i]].image) for i in idx]
        write_split(out_dir, split, [loaded[i] for i in idx], [names[i] for i in idx], paths)
    train = np.nonzero(splits == "train")[0]
    mean, std = channel_stats(np.stack([loaded[i][0] for i in train]))
    boxes_per_class = np.bincount(np.concatenate([loaded[i][2] for i in train]), minlength=len(source.classes))
    return {
        "source": str(source.root),
        "layout": source.layout,
        "classes": source.classes,
        "image_size": size,
        "mean": mean,
        "std": std,
        "splits": {split: int((splits == split).sum()) for split in SPLITS},
        "train_boxes": dict(zip(source.classes, boxes_per_class.tolist())),
        "problems": dict(Counter(p["kind"] for p in problems)),
        "skipped": problems,
        "skipped_what": "data problem(s) (see 'problems' by kind)",
        "duplicates": {"cross_split_groups": cross_split_duplicates([it[4] for it in loaded], splits)},
        "warnings": [*problem_lines(problems), *source.notes],
    }
