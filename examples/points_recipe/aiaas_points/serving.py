"""The torch-free half of the points recipe: a JSON point in, a cluster label out (numpy only)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.scores import LabelAdapter, one_answer, one_prediction, to_row

SERVICE = "aiaas_points.service:PointsService"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "to_row"]


class PointsAdapter(LabelAdapter):
    def __init__(self, metadata: dict[str, Any]):
        self.labels = list(metadata["labels"])

    def decode(self, payload: Any) -> np.ndarray:
        """[x, y]: two finite numbers; anything else is refused with 422."""
        if not isinstance(payload, (list, tuple)) or len(payload) != 2:
            raise BadInput("x must be a list of two numbers", status=422)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in payload):
            raise BadInput("x must hold two finite numbers", status=422)
        return np.asarray(payload, dtype=np.float32)

    def batch(self, items: list[np.ndarray]) -> dict[str, np.ndarray]:
        return {"x": np.stack(items)}


def build_adapter(metadata: dict[str, Any]) -> PointsAdapter:
    return PointsAdapter(metadata)


def http_request(name: str, payload: list[float], k: int) -> dict[str, Any]:
    return {"json": {"x": payload, "k": k}}
