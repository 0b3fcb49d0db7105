"""Torch-free serving half of image-seg: upload bytes -> resized, normalised batch -> class mask at the input's size.

The mask travels as a PNG of class indices (base64): lossless, small for the large flat regions masks have, and
opened by any image library, where a run-length encoding would need our own decoder on the client side.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_recipes.common.scores import one_answer, one_prediction
from aiaas_recipes.common.vision.transforms import DEFAULT_MAX_PIXELS, decode_whole, normalize
from aiaas_recipes.common.vision.uploads import ImageUploads
from aiaas_recipes.image_seg.images import mask_png, resize_mask

SERVICE = "aiaas_recipes.image_seg.service:SegmentationService"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "to_row"]


class MaskAdapter(ImageUploads):
    """Decodes image uploads for a model exported by the image-seg recipe; answers one mask per image."""

    def decode(self, payload: bytes) -> tuple[np.ndarray, tuple[int, int]]:
        """The (size, size, 3) uint8 whole image and the upload's own (width, height)."""
        return self.decode_with(decode_whole, payload)

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


# Class colours for `predict --save`: class 0 (background) is left clear, the others get distinct hues.
_PALETTE = np.array(
    [[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
     [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [170, 110, 40]], dtype=np.float32,
)  # fmt: skip


def render_output(payload: bytes, prediction: dict) -> tuple[str, bytes]:
    """The upload with its predicted classes painted over it (half-transparent), as a PNG at the upload's size."""
    import io

    from PIL import Image

    from aiaas_recipes.common.vision.transforms import open_whole, to_rgb
    from aiaas_recipes.image_seg.images import read_mask_png

    mask = read_mask_png(prediction["mask"]).astype(np.int64)
    picture = np.asarray(to_rgb(open_whole(bytes(payload), DEFAULT_MAX_PIXELS)), dtype=np.float32)
    colours = _PALETTE[mask % len(_PALETTE)]
    painted = np.where((mask > 0)[..., None], 0.5 * picture + 0.5 * colours, picture)
    buffer = io.BytesIO()
    Image.fromarray(painted.astype(np.uint8)).save(buffer, format="PNG")
    return ".png", buffer.getvalue()
