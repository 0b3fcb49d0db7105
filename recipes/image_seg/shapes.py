"""The built-in "shapes" scenes: circles, squares and triangles on cluttered backgrounds, drawn deterministically.

Colours are random per shape and per background, so a pixel's colour alone does not tell its class: the model has
to learn shapes (the per-pixel colour baseline shows how far colour gets).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_recipes.common.data import builtin
from aiaas_recipes.common.vision.colours import contrasting, random_colour

CLASSES = ("background", "circle", "square", "triangle")
BUILTINS = ("shapes",)
SIZE = 64
COUNT = 800


def _clutter(draw, rng: np.random.Generator) -> None:
    """Thin lines and dots: background that is not flat, so edges alone do not make an object."""
    for _ in range(int(rng.integers(2, 6))):
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, SIZE, 4))
        draw.line((x0, y0, x1, y1), fill=random_colour(rng), width=1)
    for _ in range(int(rng.integers(0, 6))):
        x, y = (int(v) for v in rng.integers(0, SIZE, 2))
        draw.ellipse((x, y, x + 2, y + 2), fill=random_colour(rng))


def _shape(kind: int, rng: np.random.Generator) -> list[tuple[float, float]] | tuple[float, ...]:
    """A shape's outline: a bounding box (circle, square) or a polygon (triangle)."""
    size = float(rng.uniform(12, 30))
    cx, cy = (float(v) for v in rng.uniform(size / 3, SIZE - size / 3, 2))
    if kind == 3:
        angle = float(rng.uniform(0, 2 * np.pi))
        turns = angle + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
        return [(cx + size / 1.6 * np.cos(a), cy + size / 1.6 * np.sin(a)) for a in turns]
    return (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)


def scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One (SIZE, SIZE, 3) uint8 image and its (SIZE, SIZE) class-index mask; later shapes occlude earlier ones."""
    from PIL import Image, ImageDraw

    background = random_colour(rng)
    image = Image.new("RGB", (SIZE, SIZE), background)
    mask = Image.new("L", (SIZE, SIZE), 0)
    paint, label = ImageDraw.Draw(image), ImageDraw.Draw(mask)
    _clutter(paint, rng)
    for _ in range(int(rng.integers(1, 4))):
        kind = int(rng.integers(1, len(CLASSES)))
        outline, colour = _shape(kind, rng), contrasting(rng, background, 120)
        for canvas, fill in ((paint, colour), (label, kind)):
            if kind == 1:
                canvas.ellipse(outline, fill=fill)
            elif kind == 2:
                canvas.rectangle(outline, fill=fill)
            else:
                canvas.polygon(outline, fill=fill)
    noise = rng.normal(0, 6, (SIZE, SIZE, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return pixels, np.asarray(mask, dtype=np.uint8)


def write_folder(root: Path, count: int = COUNT, seed: int = 0) -> Path:
    """``root``/images/*.png, ``root``/masks/*.png and classes.txt: the layout users bring."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    for i in range(count):
        pixels, mask = scene(rng)
        Image.fromarray(pixels).save(root / "images" / f"{i:04d}.png")
        Image.fromarray(mask, mode="L").save(root / "masks" / f"{i:04d}.png")
    (root / "classes.txt").write_text("".join(name + "\n" for name in CLASSES))
    return root


def materialize(name: str) -> Path:
    """Write the built-in dataset ``name`` once; return its root."""
    return builtin.materialize(name, BUILTINS, f"seg-{name}-v3", write_folder)
