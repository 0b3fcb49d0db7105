"""An image folder to the dataset dir: class folders (conditional) or a flat folder of images (unconditional),
decoded with the shared image-folder code (common/vision), split by class, written as uint8 arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.data.splits import split_by_class
from aiaas_recipes.common.vision.folders import Item, Layout, check_root, scan, visible_dirs, visible_files
from aiaas_recipes.common.vision.imagefiles import decode_all, find_duplicates, write_splits

MIN_IMAGES = 8


def layout_of(root: Path) -> Layout:
    """Class folders as image-cls reads them; a folder with no sub-folders is one unconditional set (classes [])."""
    check_root(root)
    if visible_dirs(root):
        return scan(root)
    items = [Item(str(f.relative_to(root)), "", None) for f in visible_files(root)]
    return Layout(root, items, [], presplit=False)


def check_settings(data_cfg) -> None:
    size = data_cfg.image_size
    if not isinstance(size, int) or isinstance(size, bool) or size < 4 or size % 4:
        raise ConfigError(f"data.image_size={size} is not a multiple of 4 of at least 4", "e.g. data.image_size=16")
    val, test = data_cfg.split.val, data_cfg.split.test
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ConfigError(
            f"data.split.val={val} and data.split.test={test} must be fractions in [0, 1) that sum to less than 1",
            "e.g. data.split.val=0.1 data.split.test=0.15",
        )


def _grey(images: np.ndarray) -> bool:
    """Every image has equal red, green and blue: one channel is enough."""
    return bool(np.all(images[..., 0] == images[..., 1]) and np.all(images[..., 1] == images[..., 2]))


def build(layout: Layout, out_dir: Path, data_cfg) -> dict:
    """Decode, split and write ``{split}_x.npy`` (N, H, W, C) and ``{split}_y.npy``; return the manifest."""
    check_settings(data_cfg)
    size = int(data_cfg.image_size)
    decoded = decode_all(layout, size, int(data_cfg.preprocess_workers))
    skipped = [{"file": it.path, "reason": err} for it, (_, err, _) in zip(layout.items, decoded) if err]
    keep = [i for i, (arr, _, _) in enumerate(decoded) if arr is not None]
    if len(keep) < MIN_IMAGES:
        raise ConfigError(f"{layout.root} has {len(keep)} readable images; image-gen needs at least {MIN_IMAGES}")
    index = {name: i for i, name in enumerate(layout.classes)}
    labels = np.asarray([index.get(layout.items[i].label, 0) for i in keep], dtype=np.int64)
    images = np.stack([decoded[i][0] for i in keep])
    if _grey(images):
        images = images[..., :1]
    parts = split_by_class(labels, data_cfg.split.val, data_cfg.split.test, data_cfg.split.seed)
    files = [layout.items[i].path for i in keep]
    split_of = write_splits(out_dir, images, labels, files, parts)
    return {
        "source": str(layout.root),
        "classes": layout.classes,
        "image_size": size,
        "channels": int(images.shape[-1]),
        "splits": {name: len(idx) for name, idx in parts.items()},
        "skipped": skipped,
        "duplicates": find_duplicates([decoded[i][2] for i in keep], split_of, files),
    }
