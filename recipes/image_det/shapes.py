"""The built-in detection scenes: circles, squares and triangles with their boxes, drawn deterministically.

Each shape's colour is random and contrasts with a random background; thin lines and dots add clutter, and a shape
may partly cover another (its box stays the whole shape's). Written in the layouts users bring: YOLO (data.yaml,
images/, labels/) and COCO (annotations.json), so the built-in data goes through the same readers as theirs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from aiaas_recipes.common.data import builtin
from aiaas_recipes.common.vision.colours import contrasting, random_colour

CLASSES = ("circle", "square", "triangle")
BUILTINS = ("shapes",)
WIDTH, HEIGHT = 96, 72  # not square: the boxes must come back in the image's own pixels
SPLITS = {"train": 640, "val": 80, "test": 80}


def _covered(box: np.ndarray, others: list[np.ndarray]) -> float:
    """The largest share of an earlier box that ``box`` would hide."""
    worst = 0.0
    for other in others:
        w = min(box[2], other[2]) - max(box[0], other[0])
        h = min(box[3], other[3]) - max(box[1], other[1])
        area = (other[2] - other[0]) * (other[3] - other[1])
        worst = max(worst, max(w, 0) * max(h, 0) / area)
    return worst


def _outline(kind: int, size: float, cx: float, cy: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    """A triangle's corners, or the corners of a circle's or square's bounding box."""
    if kind == 2:
        turns = float(rng.uniform(0, 2 * np.pi)) + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
        return [(cx + size / 1.7 * np.cos(a), cy + size / 1.7 * np.sin(a)) for a in turns]
    return [(cx - size / 2, cy - size / 2), (cx + size / 2, cy + size / 2)]


def _draw(canvas, kind: int, outline: list, colour) -> None:
    if kind == 0:
        canvas.ellipse([*outline[0], *outline[1]], fill=colour)
    elif kind == 1:
        canvas.rectangle([*outline[0], *outline[1]], fill=colour)
    else:
        canvas.polygon(outline, fill=colour)


def scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A (HEIGHT, WIDTH, 3) uint8 image, its (K, 4) boxes (x1, y1, x2, y2 pixels) and (K,) class indices."""
    from PIL import Image, ImageDraw

    background = random_colour(rng)
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    paint = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, WIDTH, 4))
        paint.line((x0, y0 % HEIGHT, x1, y1 % HEIGHT), fill=random_colour(rng), width=1)
    boxes, labels = [], []
    for _ in range(int(rng.integers(1, 5))):
        kind, size = int(rng.integers(0, len(CLASSES))), float(rng.uniform(12, 34))
        cx, cy = float(rng.uniform(size / 2, WIDTH - size / 2)), float(rng.uniform(size / 2, HEIGHT - size / 2))
        outline = _outline(kind, size, cx, cy, rng)
        points = np.asarray(outline)
        box = np.clip(np.concatenate([points.min(0), points.max(0)]), 0, [WIDTH, HEIGHT, WIDTH, HEIGHT])
        if _covered(box, boxes) > 0.4:
            continue  # a shape mostly hidden is no fair test
        _draw(paint, kind, outline, contrasting(rng, background, 150))
        boxes.append(box)
        labels.append(kind)
    noise = rng.normal(0, 6, (HEIGHT, WIDTH, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return pixels, np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64)


def scenes(count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for i in range(count):
        yield (f"{i:04d}", *scene(rng))


def yolo_line(box: np.ndarray, label: int, width: int, height: int) -> str:
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy, w, h = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height
    return f"{label} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n"


def write_yolo(root: Path, splits: dict[str, int] = SPLITS, seed: int = 0) -> Path:
    """``root``/data.yaml with images/<split>/*.png and labels/<split>/*.txt; returns the data.yaml path."""
    import yaml
    from PIL import Image

    for offset, (split, count) in enumerate(splits.items()):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for name, pixels, boxes, labels in scenes(count, seed + 1000 * offset):
            Image.fromarray(pixels).save(root / "images" / split / f"{name}.png")
            lines = [yolo_line(b, int(c), WIDTH, HEIGHT) for b, c in zip(boxes, labels)]
            (root / "labels" / split / f"{name}.txt").write_text("".join(lines))
    config = {"path": ".", **{split: f"images/{split}" for split in splits}, "names": list(CLASSES)}
    (root / "data.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root / "data.yaml"


def write_coco(root: Path, count: int, seed: int = 0, first_id: int = 1) -> Path:
    """``root``/images/*.png and ``root``/annotations.json (category ids from ``first_id``); returns the json path."""
    from PIL import Image

    (root / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for index, (name, pixels, boxes, labels) in enumerate(scenes(count, seed)):
        Image.fromarray(pixels).save(root / "images" / f"{name}.png")
        images.append({"id": index + 1, "file_name": f"{name}.png", "width": WIDTH, "height": HEIGHT})
        for box, label in zip(boxes.tolist(), labels.tolist()):
            bbox = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
            annotations.append(
                {"id": len(annotations) + 1, "image_id": index + 1, "category_id": label + first_id, "bbox": bbox,
                 "area": bbox[2] * bbox[3], "iscrowd": 0}
            )  # fmt: skip
    categories = [{"id": i + first_id, "name": name} for i, name in enumerate(CLASSES)]
    path = root / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def materialize(name: str) -> Path:
    """Write the built-in dataset ``name`` once; return its data.yaml."""
    return builtin.materialize(name, BUILTINS, f"det-{name}-v1", write_yolo) / "data.yaml"
