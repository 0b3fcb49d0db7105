"""Torch-free image pre- and post-processing, shared by the image recipes' preprocess, predict and Bento service.

One decode function for every path, so that training data and served requests see the same pixels:
``decode`` center-crops (classification), ``decode_whole`` keeps the whole picture (segmentation, detection).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 64_000_000
# A damaged file can make a decoder fail in many ways; none of them is a bug of ours.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, Image.DecompressionBombError)


class BadImage(ValueError):
    """The input is not a decodable image (or breaks a limit); the message says why."""


# Leading bytes of the formats people actually have, to tell a damaged image from a non-image.
SIGNATURES = {
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def _peak(image: Image.Image, array: np.ndarray) -> float:
    """The white level of a high-bit-depth image."""
    if image.mode.startswith("I;16"):
        return 65535.0  # the mode says 16 bits: a dark image must stay dark
    top = float(array.max()) if array.size else 0.0
    if image.mode == "F" and top <= 1.0:
        return 1.0  # float images are usually in [0, 1]
    # "I" (32-bit) and "F" carry no bit depth: guess 8 or 16 bits from the data
    return 255.0 if top <= 255 else 65535.0 if top <= 65535 else top


def _to_eight_bit(image: Image.Image) -> Image.Image:
    array = np.asarray(image, dtype=np.float64)
    array = np.clip(array / _peak(image, array) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(array, mode="L")


def to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = _to_eight_bit(image)
    if image.mode in ("P", "PA", "LA", "RGBA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _read(source: bytes | str | Path) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise BadImage(f"cannot read file: {exc.strerror or exc}") from None


def not_an_image(data: bytes) -> BadImage:
    """Name the format when the data starts like one: a damaged image is not a stray text file."""
    claimed = next((fmt for magic, fmt in SIGNATURES.items() if data.startswith(magic)), None)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        claimed = "WebP"
    if claimed:
        return BadImage(f"damaged {claimed} image (its header cannot be read)")
    return BadImage("not an image (unrecognised format)")


@contextmanager
def _reading(data: bytes) -> Iterator[None]:
    """Turn every way a decoder fails on ``data`` into a BadImage that says why."""
    if not data:
        raise BadImage("empty file")
    try:
        yield
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise not_an_image(data) from None
    except _DAMAGED as exc:
        raise BadImage(f"unreadable image: {exc}") from None


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    """Refuse a picture above the limit from its header, before its pixels are decoded (a decompression bomb)."""
    if image.width * image.height > max_pixels:
        raise BadImage(f"image has {image.width}x{image.height} pixels, above the limit of {max_pixels}")


def resampling(interpolation: str) -> Image.Resampling:
    """Pillow's filter for a timm/torchvision interpolation name (bilinear, bicubic, nearest, lanczos, box, hamming)."""
    try:
        return Image.Resampling[interpolation.upper()]
    except KeyError:
        raise ValueError(f"unknown interpolation '{interpolation}'") from None


def _center_square(image: Image.Image, size: int, resample: Image.Resampling, crop_pct: float) -> Image.Image:
    """The central square of side crop_pct x the shorter side, resized to ``size``: timm's eval transform (resize
    the shorter side to size / crop_pct, then center-crop ``size``) in one resampling."""
    if crop_pct >= 1.0:
        return ImageOps.fit(image, (size, size), resample)
    side = min(image.width, image.height) * crop_pct
    left, top = (image.width - side) / 2, (image.height - side) / 2
    return image.resize((size, size), resample, box=(left, top, left + side, top + side))


def _fit(image: Image.Image, size: int, max_pixels: int, interpolation: str, crop_pct: float) -> np.ndarray:
    _check_pixels(image, max_pixels)
    image.draft("RGB", (round(size / crop_pct), round(size / crop_pct)))  # JPEG: decode at a reduced scale, faster
    image = ImageOps.exif_transpose(image)
    fitted = _center_square(to_rgb(image), size, resampling(interpolation), crop_pct)
    return np.asarray(fitted, dtype=np.uint8)


def pixel_count(data: bytes) -> int:
    """Width x height from the image's header alone (nothing decoded); 0 when the header cannot be read."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.width * image.height
    except Exception:  # a bad file is reported by decode, with its reason
        return 0


def decode(
    source: bytes | str | Path,
    size: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    interpolation: str = "bilinear",
    crop_pct: float = 1.0,
) -> np.ndarray:
    """Decode an image to a (size, size, 3) uint8 RGB array: EXIF-rotated, center-cropped (the central ``crop_pct``
    of the shorter side: a pretrained model's own eval crop), resized with ``interpolation``."""
    data = _read(source)
    with _reading(data), Image.open(io.BytesIO(data)) as image:
        return _fit(image, size, max_pixels, interpolation, crop_pct)


def open_whole(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """The image, EXIF-rotated and fully loaded, in its own mode and size; BadImage says why it cannot be."""
    with _reading(data):
        image = Image.open(io.BytesIO(data))
        _check_pixels(image, max_pixels)
        image = ImageOps.exif_transpose(image)
        image.load()
        return image


def decode_whole(data: bytes, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, tuple[int, int]]:
    """A (size, size, 3) uint8 RGB array of the whole image (resized, not cropped), and its own (width, height)."""
    image = open_whole(data, max_pixels)
    resized = to_rgb(image).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8), (image.width, image.height)


def normalize(batch: np.ndarray, mean: list[float], std: list[float]) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32, scaled to [0, 1] then standardised."""
    x = batch.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
