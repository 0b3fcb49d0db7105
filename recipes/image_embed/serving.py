"""Torch-free serving half of image-embed: upload bytes -> normalised batch -> L2-normalised embedding; and the
gallery answers built on it (verify, identify) shared by the service and `aiaas package ... gallery=DIR`."""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_recipes.common.scores import one_answer, one_prediction
from aiaas_recipes.common.vision.transforms import DEFAULT_MAX_PIXELS, normalize
from aiaas_recipes.common.vision.uploads import ImageUploads

SERVICE = "aiaas_recipes.image_embed.service:EmbedService"
OUTPUT = "embedding"
UNKNOWN = "unknown"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "to_row"]


class EmbedAdapter(ImageUploads):
    """Decodes image uploads for a model exported by image-embed; answers each with its embedding."""

    def __init__(self, metadata: dict[str, Any], **limits: Any):
        super().__init__(metadata, **limits)
        self.threshold = float(metadata.get("threshold", 0.5))

    def decode(self, payload: bytes) -> np.ndarray:
        return self.decode_with(self.center_crop, payload)

    def batch(self, items: list[np.ndarray]) -> dict[str, np.ndarray]:
        return {"image": normalize(np.stack(items), self.mean, self.std)}

    def postprocess(self, outputs: dict[str, np.ndarray], items: list[Any], k: int) -> list[dict]:
        emb = unit(outputs[OUTPUT])
        return [{"embedding": row.tolist()} for row in emb]


def unit(x: np.ndarray) -> np.ndarray:
    """Rows L2-normalised in float32 (the network already does it; this keeps sums of float rounding out)."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def verdict(a: list[float], b: list[float], threshold: float) -> dict[str, Any]:
    """Two embeddings -> their cosine similarity and whether that says "the same identity"."""
    similarity = float(np.dot(unit(np.asarray([a]))[0], unit(np.asarray([b]))[0]))
    return {"similarity": similarity, "same": similarity >= threshold, "threshold": threshold}


def named(matches: list[tuple[str, float]], threshold: float) -> dict[str, Any]:
    """A gallery's best matches -> the answer of /identify: the best name, or "unknown" below the threshold."""
    top = [{"name": name, "score": float(score)} for name, score in matches]
    known = bool(top) and top[0]["score"] >= threshold
    return {"identity": top[0]["name"] if known else UNKNOWN, "matches": top, "threshold": threshold}


def build_adapter(
    metadata: dict[str, Any], max_pixels: int = DEFAULT_MAX_PIXELS, max_request_pixels: int = 0
) -> EmbedAdapter:
    return EmbedAdapter(metadata, max_pixels=max_pixels, max_request_pixels=max_request_pixels)


def http_request(name: str, payload: bytes, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one image: a multipart upload to /predict."""
    from pathlib import Path

    return {"files": {"image": (Path(name).name, payload)}}


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """`aiaas predict`'s record: the input and its embedding."""
    return {"input": name, "embedding": prediction["embedding"]}
