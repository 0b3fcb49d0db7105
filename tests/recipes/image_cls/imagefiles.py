"""Image files made on the fly: every format, mode and size the decoder must cope with, plus broken ones."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

FORMATS = {"png": "PNG", "jpg": "JPEG", "bmp": "BMP", "gif": "GIF", "webp": "WEBP", "tiff": "TIFF"}


def image_bytes(fmt: str = "png", size: tuple[int, int] = (24, 16), color=(200, 40, 40), mode: str = "RGB") -> bytes:
    """A solid-colour image of ``size`` (width, height) encoded as ``fmt``."""
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, FORMATS[fmt])
    return buffer.getvalue()


def noise_bytes(fmt: str, size: tuple[int, int], seed: int) -> bytes:
    """A random-noise image, so that no two files are identical."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, FORMATS[fmt])
    return buffer.getvalue()


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def write_class(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` distinct images in rotating formats, sizes and aspect ratios."""
    fmts, sizes = list(FORMATS), [(20, 20), (40, 24), (18, 36), (64, 48), (9, 30)]
    return [
        write(
            folder / f"img{i}.{fmts[i % len(fmts)]}", noise_bytes(fmts[i % len(fmts)], sizes[i % len(sizes)], seed + i)
        )
        for i in range(count)
    ]


def write_broken(folder: Path) -> list[Path]:
    """One of each kind of bad file: empty, truncated JPEG and PNG, random bytes, a text file."""
    return [
        write(folder / "empty.jpg", b""),
        write(folder / "truncated.jpg", noise_bytes("jpg", (32, 32), 99)[:200]),
        write(folder / "truncated.png", noise_bytes("png", (32, 32), 98)[:150]),
        write(folder / "random.png", np.random.default_rng(7).bytes(500)),
        write(folder / "notes.txt", "not an image\n"),
    ]


def write_dataset(root: Path, counts: dict[str, int], seed: int = 0) -> Path:
    """Class folders of distinct images: ``write_dataset(root, {"cat": 6, "dog": 6})`` -> root."""
    for offset, (name, count) in enumerate(counts.items()):
        write_class(root / name, count, seed=seed + 1000 * offset)
    return root
