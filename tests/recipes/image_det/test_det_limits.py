"""No silent cap on detections: by default every box above the threshold comes back, up to the model's
max_detections; a request or `predict --top-k` may ask for another cap up to 300, and beyond it is refused."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from aiaas_cli.errors import ConfigError
from aiaas_cli.serving.runtime import BadInput
from aiaas_cli.stages.predict import Request, answers_per_input
from aiaas_recipes.image_det import serving

META = {"labels": ["dot"], "input_size": 64, "mean": [0.5] * 3, "std": [0.25] * 3, "score_threshold": 0.3,
        "nms_iou": 0.5, "max_detections": 100}  # fmt: skip


def png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def crowd(objects: int = 150) -> dict:
    """One image with ``objects`` separate boxes above the threshold (scores 0.9 down to 0.4)."""
    scores, boxes = np.zeros((1, 1, 16, 16), np.float32), np.zeros((1, 4, 16, 16), np.float32)
    for i in range(objects):
        y, x = divmod(i, 16)
        scores[0, 0, y, x] = 0.9 - 0.5 * i / objects
        boxes[0, :, y, x] = [4 * x, 4 * y, 4 * x + 3, 4 * y + 3]
    return {"scores": scores, "boxes": boxes}


def found(adapter, payload, k: int) -> int:
    (answer,) = adapter.postprocess(crowd(), [adapter.decode(payload)], k)
    return len(answer["detections"])


def test_every_box_up_to_the_model_cap_by_default():
    adapter = serving.build_adapter(META)
    assert found(adapter, png(), serving.DEFAULT_K) == 100  # predict without --top-k
    assert found(adapter, png(), 12) == 12  # predict --top-k 12
    assert found(adapter, png(), 200) == 150  # --top-k above the model's cap: every box
    assert found(serving.build_adapter({**META, "max_detections": 8}), png(), 0) == 8
    assert found(adapter, {"image": png(), "max_detections": 140}, 0) == 140  # a request's own cap


def test_a_cap_above_the_hard_limit_is_refused():
    adapter = serving.build_adapter(META)
    with pytest.raises(BadInput) as refused:
        adapter.decode({"image": png(), "max_detections": serving.MAX_DETECTIONS + 1})
    assert refused.value.status == 422 and "above the limit of 300" in str(refused.value)
    with pytest.raises(ConfigError, match="--top-k 301 is above image-det's limit of 300"):
        answers_per_input(Request("image-det", [], top_k=301), serving)


def test_predict_asks_the_recipe_for_its_default():
    assert answers_per_input(Request("image-det", []), serving) == 0  # 0: the model's max_detections
    from aiaas_recipes.image_cls import serving as labels

    assert answers_per_input(Request("image-cls", []), labels) == 5
    assert answers_per_input(Request("image-cls", [], top_k=3), labels) == 3


def test_http_request_sends_a_cap_only_when_asked():
    assert serving.http_request("a.png", b"x", 0)["data"] == {}
    assert serving.http_request("a.png", b"x", 150)["data"] == {"max_detections": "150"}
