"""Torch-free serving half of image-seg: upload bytes -> resized, normalised batch -> class mask at the input's size.

The mask travels as a PNG of class indices (base64): lossless, small for the large flat regions masks have, and
opened by any image library, where a run-length encoding would need our own decoder on the client side.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.scores import one_answer, one_prediction
from aiaas_recipes.image_cls.transforms import DEFAULT_MAX_PIXELS, BadImage, pixel_count
from aiaas_recipes.image_seg.images import decode, mask_png, normalize, resize_mask

SERVICE = "aiaas_recipes.image_seg.service:SegmentationService"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "to_row"]


class MaskAdapter:
    """Decodes image uploads for a model exported by the image-seg recipe; answers one mask per image."""

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

    def decode(self, payload: bytes) -> tuple[np.ndarray, tuple[int, int]]:
        """The (size, size, 3) uint8 image and the upload's own (width, height)."""
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise BadInput(f"expected image bytes, got {type(payload).__name__}")
        try:
            return decode(bytes(payload), self.size, self.max_pixels)
        except BadImage as exc:
            raise BadInput(str(exc)) from None

    def batch(self, items: list[tuple[np.ndarray, tuple[int, int]]]) -> dict[str, np.ndarray]:
        return {"image": normalize(np.stack([image for image, _ in items]), self.mean, self.std)}

    def postprocess(self, outputs: dict[str, np.ndarray], items: list, k: int) -> list[dict]:
        """Per image: its class mask resized back to the upload's size, and each class's pixels (``k`` unused)."""
        masks = np.asarray(outputs["logits"]).argmax(1).astype(np.uint8)
        return [self._answer(mask, size) for mask, (_, size) in zip(masks, items, strict=True)]

    def _answer(self, mask: np.ndarray, size: tuple[int, int]) -> dict:
        width, height = size
        full = resize_mask(mask, width, height)
        counts = np.bincount(full.ravel(), minlength=len(self.labels))[: len(self.labels)]
        total = max(int(counts.sum()), 1)
        return {
            "mask": mask_png(full),
            "width": width,
            "height": height,
            "classes": self.labels,
            "areas": {name: round(int(c) / total, 6) for name, c in zip(self.labels, counts)},
            "counts": {name: int(c) for name, c in zip(self.labels, counts)},
        }


def build_adapter(
    metadata: dict[str, Any], max_pixels: int = DEFAULT_MAX_PIXELS, max_request_pixels: int = 0
) -> MaskAdapter:
    """The adapter for image-seg models; the limits come from `serve.limits` (0: twice max_pixels per request)."""
    return MaskAdapter(metadata, max_pixels=max_pixels, max_request_pixels=max_request_pixels)


def http_request(name: str, payload: bytes, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one image: a multipart upload."""
    from pathlib import Path

    return {"files": {"image": (Path(name).name, payload)}}


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """`aiaas predict`'s record: the largest non-background class first, then the whole answer (mask included)."""
    shares = {label: share for label, share in prediction["areas"].items() if label != prediction["classes"][0]}
    main = max(shares, key=shares.get) if shares else prediction["classes"][0]
    return {"input": name, "label": main, "area": shares.get(main, 1.0), **prediction}
