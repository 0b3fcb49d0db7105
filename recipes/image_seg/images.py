"""Torch-free image and mask handling, shared by preprocess, predict and the Bento service.

Segmentation needs the whole picture, so images are resized (not cropped) to the model's square input, and a
predicted mask is resized back to the input's own size. Decoding reuses image-cls' checks (EXIF, modes, bombs).
"""

from __future__ import annotations

import base64
import io
import struct

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from aiaas_recipes.image_cls.transforms import DEFAULT_MAX_PIXELS, BadImage, _not_an_image, _to_rgb

IGNORE = 255  # mask value of pixels that count for no class
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, Image.DecompressionBombError)


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """The image, EXIF-rotated and fully loaded; BadImage says why it cannot be."""
    if not data:
        raise BadImage("empty file")
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > max_pixels:
            raise BadImage(f"image has {image.width}x{image.height} pixels, above the limit of {max_pixels}")
        image = ImageOps.exif_transpose(image)
        image.load()
        return image
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise _not_an_image(data) from None
    except _DAMAGED as exc:  # a damaged file fails in many ways; none is a bug of ours
        raise BadImage(f"unreadable image: {exc}") from None


def decode(data: bytes, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, tuple[int, int]]:
    """A (size, size, 3) uint8 RGB array of the whole image, and the image's own (width, height)."""
    image = _open(data, max_pixels)
    original = (image.width, image.height)
    resized = _to_rgb(image).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8), original


def read_mask(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A mask file's (H, W) class indices: a single-channel or palette PNG, pixel value = class index."""
    image = _open(data, max_pixels)
    if image.mode not in ("L", "P", "I", "I;16", "1"):
        raise BadImage(f"mask is a {image.mode} image, not one class index per pixel (a grey or palette PNG)")
    values = np.asarray(image)
    return values.astype(np.uint8) if values.max(initial=0) <= 255 else np.minimum(values, IGNORE).astype(np.uint8)


def resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """Class indices at another size (nearest neighbour: no invented classes between two others)."""
    if mask.shape == (height, width):
        return mask
    return np.asarray(Image.fromarray(mask, mode="L").resize((width, height), Image.Resampling.NEAREST))


def mask_png(mask: np.ndarray) -> str:
    """A mask as a grey PNG of class indices, base64: any image library reads it back losslessly."""
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8), mode="L").save(buffer, format="PNG", optimize=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def read_mask_png(text: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(text))))


def normalize(batch: np.ndarray, mean: list[float], std: list[float]) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32, scaled to [0, 1] then standardised."""
    x = batch.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
