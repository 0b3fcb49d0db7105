"""COCO instance annotations (polygons or RLE) rasterised into class-index masks, so that image-seg reads a COCO
export like an images/ + masks/ folder. pycocotools (the COCO reference code) does the rasterising.

Class 0 is the background; categories follow in id order. Crowd regions become 255 (ignored), and larger objects
are painted first so that a small object on top of a large one keeps its pixels.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from aiaas_cli.errors import ConfigError
from aiaas_recipes.image_seg.dataset import Pair
from aiaas_recipes.image_seg.images import IGNORE


def image_folder(json_path: Path, images: str | None) -> Path:
    """``data.images`` when given, else images/ beside the json, else the json's own folder."""
    if images:
        return Path(str(images)).expanduser().resolve()
    beside = json_path.parent / "images"
    return beside if beside.is_dir() else json_path.parent


def _load(json_path: Path):
    from pycocotools.coco import COCO

    try:
        with contextlib.redirect_stdout(sys.stderr):  # pycocotools prints its progress on stdout (--json's)
            return COCO(str(json_path))
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise ConfigError(f"{json_path} is not a COCO annotations file ({exc})") from None


def _mask(coco, info: dict, index: dict[int, int], problems: list[dict]) -> np.ndarray:
    mask = np.zeros((int(info["height"]), int(info["width"])), np.uint8)
    annotations = sorted(coco.loadAnns(coco.getAnnIds(imgIds=info["id"])), key=lambda a: -float(a.get("area", 0)))
    for ann in annotations:
        value = IGNORE if ann.get("iscrowd") else index.get(ann.get("category_id"))
        if value is None:
            reason = f"annotation {ann.get('id')} left out: unknown category {ann.get('category_id')}"
            problems.append({"file": info["file_name"], "reason": reason})
            continue
        try:
            region = coco.annToMask(ann).astype(bool)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            problems.append({"file": info["file_name"], "reason": f"annotation {ann.get('id')} left out: {exc}"})
            continue
        mask[region] = value
    return mask


def rasterise(json_path: Path, images: Path, out_dir: Path) -> tuple[list[Pair], list[str], list[dict]]:
    """(image/mask pairs with the masks written to ``out_dir``, class names, annotations that were left out)."""
    coco = _load(json_path)
    categories = sorted(coco.getCatIds())
    names = ["background", *(str(coco.cats[c]["name"]) for c in categories)]
    index = {category: i + 1 for i, category in enumerate(categories)}
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs, problems = [], []
    for info in coco.loadImgs(sorted(coco.getImgIds())):
        target = out_dir / f"{info['id']}.png"
        Image.fromarray(_mask(coco, info, index, problems)).save(target)
        pairs.append(Pair(str(info["file_name"]), images / str(info["file_name"]), target))
    if not pairs:
        raise ConfigError(f"{json_path} lists no images")
    return pairs, names, problems
