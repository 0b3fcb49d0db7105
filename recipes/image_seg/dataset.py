"""Read an ``images/`` + ``masks/`` folder into the dataset dir: uint8 arrays per split plus a manifest.

Bad pairs are skipped and reported (manifest["skipped"]); the preprocess stage makes them errors under --strict.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aiaas_cli import console
from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.vision.transforms import BadImage, decode_whole
from aiaas_recipes.image_seg.images import IGNORE, read_mask, resize_mask

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
SPLITS = ("train", "val", "test")
_COCO_MASKS = ".coco-masks"  # rasterised COCO masks, read like a masks/ folder and removed once loaded


@dataclass
class Pair:
    name: str  # the image's path relative to the data root
    image: Path
    mask: Path | None


def find_pairs(root: Path) -> list[Pair]:
    """Every image under ``root``/images with the mask of the same stem under ``root``/masks."""
    images, masks = root / "images", root / "masks"
    if not images.is_dir() or not masks.is_dir():
        raise ConfigError(f"{root} needs an images/ and a masks/ folder", "mask pixel = class index, same file stem")
    by_stem = {p.relative_to(masks).with_suffix(""): p for p in sorted(masks.rglob("*")) if p.is_file()}
    files = [p for p in sorted(images.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    pairs = [Pair(str(p.relative_to(root)), p, by_stem.get(p.relative_to(images).with_suffix(""))) for p in files]
    if not pairs:
        raise ConfigError(f"no images in {images}")
    return pairs


def class_names(root: Path, data_cfg) -> list[str] | None:
    """Names from the config, else classes.txt (one per line, line i = class i); None: numbered from the masks."""
    if data_cfg.classes:
        return [str(name) for name in data_cfg.classes]
    listed = root / "classes.txt"
    if listed.is_file():
        return [line.strip() for line in listed.read_text().splitlines() if line.strip()]
    return None


def _load(pair: Pair, size: int, n_classes: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The pair resized to ``size``; BadImage says what is wrong with it."""
    if pair.mask is None:
        raise BadImage("no mask with the same name in masks/")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about damaged metadata; the report covers it
        image, (width, height) = decode_whole(pair.image.read_bytes(), size)
        try:
            mask = read_mask(pair.mask.read_bytes())
        except BadImage as exc:
            raise BadImage(f"mask: {exc}") from None
    if mask.shape != (height, width):
        raise BadImage(f"mask is {mask.shape[1]}x{mask.shape[0]}, its image {width}x{height}")
    if n_classes is not None:
        bad = np.unique(mask[(mask >= n_classes) & (mask != IGNORE)])
        if len(bad):
            raise BadImage(f"mask values {bad[:5].tolist()} are outside the {n_classes} classes (255 = ignore)")
    return image, resize_mask(mask, size, size)


def load_pairs(pairs: list[Pair], size: int, n_classes: int | None) -> tuple[list, list, list, list[dict]]:
    """Decoded images, masks and names of the usable pairs, and the skipped ones with their reason."""
    images, masks, names, skipped = [], [], [], []
    with console.progress("Reading images and masks", len(pairs)) as bar:
        for pair in pairs:
            try:
                image, mask = _load(pair, size, n_classes)
            except (BadImage, OSError) as exc:
                skipped.append({"file": pair.name, "reason": str(getattr(exc, "strerror", None) or exc)})
            else:
                images.append(image)
                masks.append(mask)
                names.append(pair.name)
            bar.advance()
    return images, masks, names, skipped


def split_indices(n: int, split_cfg) -> dict[str, np.ndarray]:
    """A seeded random split; train keeps at least one image."""
    order = np.random.default_rng(split_cfg.seed).permutation(n)
    n_test = min(int(round(n * split_cfg.test)), max(n - 1, 0))
    n_val = min(int(round(n * split_cfg.val)), max(n - 1 - n_test, 0))
    parts = {"test": order[:n_test], "val": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}
    return {name: np.sort(parts[name]) for name in SPLITS}


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    pixels = images.reshape(-1, 3).astype(np.float64) / 255.0
    return pixels.mean(0).round(6).tolist(), np.maximum(pixels.std(0), 1e-6).round(6).tolist()


def check_settings(data_cfg, depth: int) -> None:
    size, val, test = data_cfg.image_size, data_cfg.split.val, data_cfg.split.test
    step = 2**depth
    if not isinstance(size, int) or isinstance(size, bool) or size < step or size % step:
        raise ConfigError(
            f"data.image_size={size} must be a positive multiple of {step} (the network halves it {depth} times)",
            "e.g. data.image_size=64",
        )
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ConfigError(f"data.split.val={val} and data.split.test={test} must be fractions summing below 1")


def _sources(root: Path, out_dir: Path, data_cfg) -> tuple[list[Pair], list[str] | None, list[dict]]:
    """The image/mask pairs, class names and problems found so far: an images/ + masks/ folder, or a COCO json."""
    if root.suffix.lower() != ".json":
        return find_pairs(root), class_names(root, data_cfg), []
    from aiaas_recipes.image_seg import coco

    images = coco.image_folder(root, data_cfg.get("images"))
    pairs, names, problems = coco.rasterise(root, images, out_dir / _COCO_MASKS)
    return pairs, ([str(n) for n in data_cfg.classes] if data_cfg.classes else names), problems


def build(root: Path, out_dir: Path, data_cfg) -> dict:
    """Decode, check, split and write ``{split}_x.npy`` (N, S, S, 3) and ``{split}_y.npy`` (N, S, S)."""
    pairs, names_given, problems = _sources(root, out_dir, data_cfg)
    size = int(data_cfg.image_size)
    images, masks, files, skipped = load_pairs(pairs, size, len(names_given) if names_given else None)
    shutil.rmtree(out_dir / _COCO_MASKS, ignore_errors=True)
    skipped = problems + skipped
    if not images:
        raise ConfigError(f"no usable image/mask pairs in {root}", f"first problem: {skipped[0]['reason']}")
    x, y = np.stack(images), np.stack(masks)
    classes = names_given or [f"class_{i}" for i in range(int(y[y != IGNORE].max(initial=0)) + 1)]
    parts = split_indices(len(x), data_cfg.split)
    for name, idx in parts.items():
        np.save(out_dir / f"{name}_x.npy", x[idx])
        np.save(out_dir / f"{name}_y.npy", y[idx])
        (out_dir / f"{name}_files.txt").write_text("".join(files[i] + "\n" for i in idx))
    mean, std = channel_stats(x[parts["train"]])
    counts = np.bincount(y[parts["train"]][y[parts["train"]] != IGNORE].ravel(), minlength=len(classes))
    return {
        "source": str(root),
        "classes": classes,
        "image_size": size,
        "mean": mean,
        "std": std,
        "splits": {name: len(idx) for name, idx in parts.items()},
        "train_pixel_share": dict(zip(classes, (counts / max(counts.sum(), 1)).round(4).tolist())),
        "skipped": skipped,
        "skipped_what": "image/mask pair(s)",
    }
