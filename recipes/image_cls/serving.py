"""Torch-free serving adapter for image-cls: upload bytes -> normalised batch -> top-k labels.

It reuses transforms.py, so predict and the Bento see the same pixels that training saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import DEFAULT_MAX_PIXELS, BadInput
from aiaas_recipes.common.scores import softmax, top_k
from aiaas_recipes.image_cls.transforms import BadImage, decode, normalize


class ImageAdapter:
    """Decodes image uploads for a model exported by the image-cls recipe."""

    input_kind = "image"

    def __init__(self, metadata: dict[str, Any], max_pixels: int = DEFAULT_MAX_PIXELS):
        self.labels = list(metadata["labels"])
        self.size = int(metadata["input_size"])
        self.mean, self.std = metadata["mean"], metadata["std"]
        self.max_pixels = int(max_pixels)

    def decode(self, payload: bytes) -> np.ndarray:
        """One (size, size, 3) uint8 image; raises BadInput saying what is wrong with it."""
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise BadInput(f"expected image bytes, got {type(payload).__name__}")
        try:
            return decode(bytes(payload), self.size, self.max_pixels)
        except BadImage as exc:
            raise BadInput(str(exc)) from None

    def batch(self, items: list[np.ndarray]) -> np.ndarray:
        """(N, 3, size, size) float32, normalised with the training set's statistics."""
        return normalize(np.stack(items), self.mean, self.std)

    def postprocess(self, logits: np.ndarray, k: int) -> list[list[dict]]:
        return top_k(softmax(np.asarray(logits, dtype=np.float32)), self.labels, k)


def build_adapter(metadata: dict[str, Any], max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageAdapter:
    """The adapter that `aiaas_cli.serving.runtime.load_adapter` returns for image-cls models."""
    return ImageAdapter(metadata, max_pixels=max_pixels)
