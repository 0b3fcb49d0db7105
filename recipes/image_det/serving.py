"""Torch-free serving half of image-det: upload bytes -> resized, normalised batch -> detections in the upload's
own pixels, via the numpy post-processing in boxes.py (peaks, class-wise NMS, scale back).

A request may carry its own options: the service hands the adapter {"image": bytes, "score_threshold": t,
"max_detections": m} instead of bytes. `aiaas predict` passes plain bytes (the model's defaults) and its
``--top-k`` as the cap on detections. Without one, every detection above the threshold comes back, up to the
model's ``max_detections`` (model.max_detections, 100 by default); a request may ask for up to MAX_DETECTIONS.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.scores import one_answer, one_prediction
from aiaas_recipes.common.vision.transforms import DEFAULT_MAX_PIXELS, decode_whole, normalize
from aiaas_recipes.common.vision.uploads import ImageUploads
from aiaas_recipes.image_det.boxes import PRE_NMS, detect, to_original

SERVICE = "aiaas_recipes.image_det.service:DetectionService"
MAX_DETECTIONS = PRE_NMS  # the most any request may ask for (more is answered 422): the cells NMS looks at
DEFAULT_K, MAX_K = 0, MAX_DETECTIONS  # `aiaas predict`'s --top-k when not given (0: the model's max_detections)
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "render_output", "to_row"]


def _image_bytes(payload: Any) -> Any:
    return payload.get("image") if isinstance(payload, dict) else payload


class BoxAdapter(ImageUploads):
    """Decodes image uploads for a model exported by the image-det recipe; answers the detections per image."""

    def __init__(self, metadata: dict[str, Any], max_pixels: int = DEFAULT_MAX_PIXELS, max_request_pixels: int = 0):
        super().__init__(metadata, max_pixels, max_request_pixels)
        self.score_threshold = float(metadata["score_threshold"])
        self.nms_iou = float(metadata["nms_iou"])
        self.max_detections = int(metadata["max_detections"])

    def check_request(self, payloads: list[Any]) -> None:
        super().check_request([_image_bytes(p) for p in payloads])

    def decode(self, payload: Any) -> tuple[np.ndarray, tuple[int, int], float, int]:
        """The (size, size, 3) uint8 image, the upload's own (width, height), its score threshold and cap."""
        options = payload if isinstance(payload, dict) else {}
        threshold = options.get("score_threshold")
        threshold = self.score_threshold if threshold is None else float(threshold)
        if not 0 <= threshold <= 1:
            raise BadInput(f"score_threshold={threshold} must be between 0 and 1", status=422)
        cap = int(options.get("max_detections") or 0)  # 0: --top-k, else the model's own max_detections
        if cap > MAX_DETECTIONS:
            raise BadInput(f"max_detections={cap} is above the limit of {MAX_DETECTIONS}", status=422)
        image, size = self.decode_with(decode_whole, _image_bytes(payload))
        return image, size, threshold, cap

    def batch(self, items: list[tuple]) -> dict[str, np.ndarray]:
        return {"image": normalize(np.stack([item[0] for item in items]), self.mean, self.std)}

    def postprocess(self, outputs: dict[str, np.ndarray], items: list, k: int) -> list[dict]:
        """Per image: its detections, best first, at most the request's own cap, else ``k``, else the model's
        max_detections (``k`` 0)."""
        scores, boxes = np.asarray(outputs["scores"]), np.asarray(outputs["boxes"])
        answers = []
        for s, b, (_, (width, height), threshold, cap) in zip(scores, boxes, items, strict=True):
            limit = min(cap or int(k) or self.max_detections, MAX_DETECTIONS)
            found, values, labels = detect(s, b, threshold, limit, self.nms_iou)
            placed = to_original(found, self.size, width, height)
            answers.append({"detections": self.detections(placed, values, labels), "width": width, "height": height})
        return answers

    def detections(self, boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> list[dict]:
        return [
            {"label": self.labels[int(c)], "score": round(float(s), 6), "box": [round(float(v), 2) for v in box]}
            for box, s, c in zip(boxes, scores, labels)
        ]


def build_adapter(
    metadata: dict[str, Any], max_pixels: int = DEFAULT_MAX_PIXELS, max_request_pixels: int = 0
) -> BoxAdapter:
    """The adapter for image-det models; the limits come from `serve.limits` (0: twice max_pixels per request)."""
    return BoxAdapter(metadata, max_pixels=max_pixels, max_request_pixels=max_request_pixels)


def http_request(name: str, payload: bytes, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one image: a multipart upload, ``k`` as the cap on detections (0: the
    served model's own max_detections)."""
    from pathlib import Path

    data = {"max_detections": str(int(k))} if k else {}
    return {"files": {"image": (Path(name).name, payload)}, "data": data}


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """`aiaas predict`'s record: how many objects and the best one's label and score first, then the answer."""
    found = prediction["detections"]
    best = found[0] if found else {"label": None, "score": None}
    return {"input": name, "objects": len(found), "label": best["label"], "score": best["score"], **prediction}


def render_output(payload: Any, prediction: dict) -> tuple[str, bytes]:
    """The input with its detections drawn, as PNG: what `aiaas predict --save-images DIR` writes per image."""
    from aiaas_recipes.image_det.draw import annotate

    return ".png", annotate(bytes(_image_bytes(payload)), prediction)
