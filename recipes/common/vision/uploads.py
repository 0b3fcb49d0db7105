"""Image uploads for a served vision model: the per-image and per-request pixel limits, and one line per bad image.

Torch-free (it ships in the Bento). The limits come from `serve.limits`; a request's total is read from the images'
headers before any is decoded, so a request of many large images costs nothing to refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.vision.transforms import DEFAULT_MAX_PIXELS, BadImage, decode, pixel_count


class ImageUploads:
    """What every image adapter shares: the model's input size and normalisation, and the pixel limits."""

    def __init__(self, metadata: dict[str, Any], max_pixels: int = DEFAULT_MAX_PIXELS, max_request_pixels: int = 0):
        self.labels = list(metadata["labels"])
        self.size = int(metadata["input_size"])
        self.mean, self.std = metadata["mean"], metadata["std"]
        # how a pretrained model's own eval transform crops and resizes (absent: the whole square, bilinear)
        self.interpolation = str(metadata.get("interpolation", "bilinear"))
        self.crop_pct = float(metadata.get("crop_pct", 1.0))
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

    def decode_with(self, decode: Callable[[bytes, int, int], Any], payload: Any) -> Any:
        """``decode(bytes, size, max_pixels)`` of one upload; BadInput says what is wrong with it."""
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise BadInput(f"expected image bytes, got {type(payload).__name__}")
        try:
            return decode(bytes(payload), self.size, self.max_pixels)
        except BadImage as exc:
            raise BadInput(str(exc)) from None

    def center_crop(self, data: bytes, size: int, max_pixels: int) -> Any:
        """transforms.decode with the model's recorded interpolation and crop: what preprocess gave training."""
        return decode(data, size, max_pixels, self.interpolation, self.crop_pct)
