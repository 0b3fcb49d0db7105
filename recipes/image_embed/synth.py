"""The built-in identities: procedurally drawn faces whose proportions, colours and markings are the identity, each
seen under changing pose, scale, lighting, occlusion and noise. Deterministic (seeded), generated offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

BUILTINS = ("faces",)
IDENTITIES, PER_IDENTITY, SIZE = 480, 12, 48  # more identities: a face space that generalises to unseen ones
_CANVAS = 96  # drawn at twice the saved size, then downsampled: smooth edges


def identity(rng: np.random.Generator) -> dict:
    """What makes one face itself: head shape and colour, eyes, mouth and a forehead marking."""
    return {
        "skin": rng.integers(60, 240, 3),
        "aspect": rng.uniform(0.65, 1.0),
        "eye_gap": rng.uniform(0.16, 0.34),
        "eye_size": rng.uniform(0.05, 0.11),
        "eye": rng.integers(0, 255, 3),
        "eye_height": rng.uniform(-0.12, 0.05),
        "mouth": rng.uniform(0.15, 0.45),
        "smile": rng.uniform(-0.15, 0.15),
        "mark": int(rng.integers(0, 4)),
        "mark_colour": rng.integers(0, 255, 3),
        "hair": rng.integers(0, 255, 3),
        "hair_depth": rng.uniform(0.05, 0.3),
    }


def _draw(face: dict) -> Any:  # a PIL image (PIL imported on use)
    from PIL import Image, ImageDraw

    c = _CANVAS
    img = Image.new("RGBA", (c, c), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    w, h = 0.36 * c * face["aspect"], 0.4 * c
    box = (c / 2 - w, c / 2 - h, c / 2 + w, c / 2 + h)
    d.ellipse(box, fill=(*face["hair"], 255))
    d.ellipse((box[0], box[1] + face["hair_depth"] * 2 * h, box[2], box[3]), fill=(*face["skin"], 255))
    ey, gap, r = c / 2 + face["eye_height"] * c, face["eye_gap"] * c, face["eye_size"] * c
    for x in (c / 2 - gap / 2, c / 2 + gap / 2):
        d.ellipse((x - r, ey - r * 0.7, x + r, ey + r * 0.7), fill=(*face["eye"], 255))
    mw, my = face["mouth"] * c / 2, c / 2 + 0.2 * c
    bend = face["smile"] * c
    d.line([(c / 2 - mw, my - bend), (c / 2, my + bend), (c / 2 + mw, my - bend)], fill=(40, 20, 20, 255), width=3)
    fx, fy, m = c / 2, ey - 0.14 * c, 0.05 * c
    colour = (*face["mark_colour"], 255)
    if face["mark"] == 1:
        d.ellipse((fx - m, fy - m, fx + m, fy + m), fill=colour)
    elif face["mark"] == 2:
        d.rectangle((fx - 3 * m, fy - m / 2, fx + 3 * m, fy + m / 2), fill=colour)
    elif face["mark"] == 3:
        d.polygon([(fx, fy - m * 1.5), (fx - m * 1.5, fy + m), (fx + m * 1.5, fy + m)], fill=colour)
    return img


def view(face: Any, rng: np.random.Generator) -> np.ndarray:
    """One photo of a face: pose (rotation, shift), scale, background, lighting, occlusion and noise."""
    from PIL import Image

    c = _CANVAS
    scale = rng.uniform(0.85, 1.05)
    turned = face.rotate(rng.uniform(-15, 15), resample=Image.BILINEAR)
    turned = turned.resize((int(c * scale), int(c * scale)), Image.BILINEAR)
    canvas = Image.new("RGBA", (c, c), (*rng.integers(0, 255, 3).tolist(), 255))
    dx, dy = (rng.integers(-6, 7, 2) + (c - turned.width) // 2).tolist()
    canvas.paste(turned, (dx, dy), turned)  # the alpha as mask; a negative offset is fine here
    pixels = np.asarray(canvas.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR), dtype=np.float32)
    ramp = np.linspace(-1, 1, SIZE)[None, :, None] * rng.uniform(-25, 25)  # light from one side
    pixels = pixels * rng.uniform(0.75, 1.25) + ramp
    if rng.random() < 0.2:  # something in front of the face
        y, x, hh, ww = rng.integers(0, SIZE - 10, 2).tolist() + rng.integers(8, 18, 2).tolist()
        pixels[y : y + hh, x : x + ww] = rng.integers(0, 255, 3)
    pixels += rng.normal(0, 6, pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def write_faces(out_dir: Path, identities: int = IDENTITIES, per_identity: int = PER_IDENTITY, seed: int = 0) -> Path:
    """One folder per identity (``id_000``...), ``per_identity`` PNG photos in each."""
    from PIL import Image

    for i in range(identities):
        rng = np.random.default_rng([seed, i])
        face = _draw(identity(rng))
        folder = Path(out_dir) / f"id_{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for j in range(per_identity):
            Image.fromarray(view(face, rng)).save(folder / f"{j:02d}.png")
    return Path(out_dir)


def materialize(name: str) -> Path:
    """Write the built-in dataset ``name`` once; return its root."""
    from aiaas_recipes.common.data import builtin

    # the count in the folder name: a workspace holding an older, smaller set writes this one anew
    return builtin.materialize(name, BUILTINS, f"identities-{name}-{IDENTITIES}x{PER_IDENTITY}", write_faces)
