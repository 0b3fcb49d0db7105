"""Torch-free serving half of image-cls: upload bytes -> normalised batch -> top-k labels.

It reuses transforms.py, so predict and the Bento see the same pixels that training saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.scores import LabelAdapter, one_answer, one_prediction, to_row
from aiaas_recipes.image_cls.transforms import DEFAULT_MAX_PIXELS, BadImage, decode, normalize, pixel_count

SERVICE = "aiaas_recipes.image_cls.service:ImageService"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "to_row"]


class ImageAdapter(LabelAdapter):
    """Decodes image uploads for a model exported by the image-cls recipe."""

    def __init__(self, metadata: dict[str, Any], max_pixels: int = DEFAULT_MAX_PIXELS, max_request_pixels: int = 0):
        self.labels = list(metadata["labels"])
        self.size = int(metadata["input_size"])
        self.mean, self.std = metadata["mean"], metadata["std"]
        self.max_pixels = int(max_pixels)
        self.max_request_pixels = int(max_request_pixels) or 2 * self.max_pixels

    def check_request(self, payloads: list[Any]) -> None:
        """Refuse a request whose images together hold too many pixels, from their headers, before decoding any."""
        total = sum(pixel_count(bytes(p)) for p in payloads if isinstance(p, (bytes, bytearray, memoryview)))
        if total > self.max_request_pixels:
            raise BadInput(
                f"the request's images hold {total} pixels together, above the limit of {self.max_request_pixels}",
                status=413,
            )

    def decode(self, payload: bytes) -> np.ndarray:
        """One (size, size, 3) uint8 image; raises BadInput saying what is wrong with it."""
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise BadInput(f"expected image bytes, got {type(payload).__name__}")
        try:
            return decode(bytes(payload), self.size, self.max_pixels)
        except BadImage as exc:
            raise BadInput(str(exc)) from None

    def batch(self, items: list[np.ndarray]) -> dict[str, np.ndarray]:
        """{"image": (N, 3, size, size) float32}, normalised with the training set's statistics."""
        return {"image": normalize(np.stack(items), self.mean, self.std)}


def build_adapter(
    metadata: dict[str, Any], max_pixels: int = DEFAULT_MAX_PIXELS, max_request_pixels: int = 0
) -> ImageAdapter:
    """The adapter for image-cls models; the limits come from `serve.limits` (0: twice max_pixels per request)."""
    return ImageAdapter(metadata, max_pixels=max_pixels, max_request_pixels=max_request_pixels)


def http_request(name: str, payload: bytes, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one image: a multipart upload."""
    from pathlib import Path

    return {"files": {"image": (Path(name).name, payload)}, "data": {"k": str(k)}}
