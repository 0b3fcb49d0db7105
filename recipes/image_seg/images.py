"""Torch-free image and mask handling, shared by preprocess, predict and the Bento service.

Segmentation needs the whole picture, so images are resized (not cropped) to the model's square input, and a
predicted mask is resized back to the input's own size. Decoding is every image recipe's (EXIF, modes, bombs).
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from aiaas_recipes.common.vision.transforms import DEFAULT_MAX_PIXELS, BadImage, open_whole

IGNORE = 255  # mask value of pixels that count for no class


def read_mask(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A mask file's (H, W) class indices: a single-channel or palette PNG, pixel value = class index."""
    image = open_whole(data, max_pixels)
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
