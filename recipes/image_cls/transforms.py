"""Torch-free image pre- and post-processing, shared by preprocess, predict and the Bento service.

One decode function for every path, so that training data and served requests see the same pixels.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 64_000_000


class BadImage(ValueError):
    """The input is not a decodable image (or breaks a limit); the message says why."""


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        array = np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        image = Image.fromarray(array, mode="L")
    if image.mode in ("P", "PA", "LA", "RGBA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _open(source: bytes | str | Path) -> Image.Image:
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise BadImage("empty file")
        return Image.open(io.BytesIO(source))
    if Path(source).stat().st_size == 0:
        raise BadImage("empty file")
    return Image.open(source)


def decode(source: bytes | str | Path, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an image to a (size, size, 3) uint8 RGB array: EXIF-rotated, center-cropped, resized."""
    try:
        with _open(source) as image:
            if image.width * image.height > max_pixels:
                raise BadImage(f"image has {image.width}x{image.height} pixels, above the limit of {max_pixels}")
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
            image = ImageOps.exif_transpose(image)
            fitted = ImageOps.fit(_to_rgb(image), (size, size), Image.Resampling.BILINEAR)
            return np.asarray(fitted, dtype=np.uint8)
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage("not an image (unrecognised format)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BadImage(f"unreadable image: {exc}") from None


def normalize(batch: np.ndarray, mean: list[float], std: list[float]) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32, scaled to [0, 1] then standardised."""
    x = batch.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def top_k(probabilities: np.ndarray, labels: list[str], k: int) -> list[list[dict]]:
    """Per row: the k best labels with their scores, best first."""
    k = max(1, min(k, len(labels)))
    order = np.argsort(-probabilities, axis=-1)[:, :k]
    return [[{"label": labels[j], "score": float(row[j])} for j in idx] for row, idx in zip(probabilities, order)]
