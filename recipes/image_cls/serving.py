"""Torch-free serving half of image-cls: upload bytes -> normalised batch -> top-k labels.

It reuses common/vision/transforms.py, so predict and the Bento see the same pixels that training saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_recipes.common.scores import LabelAdapter, one_answer, one_prediction, to_row
from aiaas_recipes.common.vision.transforms import DEFAULT_MAX_PIXELS, normalize
from aiaas_recipes.common.vision.uploads import ImageUploads

SERVICE = "aiaas_recipes.image_cls.service:ImageService"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "to_row"]


class ImageAdapter(ImageUploads, LabelAdapter):
    """Decodes image uploads for a model exported by the image-cls recipe."""

    def decode(self, payload: bytes) -> np.ndarray:
        """One (size, size, 3) uint8 image, center-cropped; raises BadInput saying what is wrong with it."""
        return self.decode_with(self.center_crop, payload)

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
