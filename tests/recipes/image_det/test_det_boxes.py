"""image-det's torch-free half: peaks to boxes, NMS, scaling back to the image, and the serving adapter's options."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.image_det import boxes, serving

META = {
    "labels": ["circle", "square"],
    "input_size": 32,
    "mean": [0.5, 0.5, 0.5],
    "std": [0.25, 0.25, 0.25],
    "score_threshold": 0.3,
    "nms_iou": 0.5,
    "max_detections": 100,
}


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def outputs() -> dict:
    """One image, 2 classes on an 8x8 grid: two overlapping squares (0.9, 0.6), one circle (0.4), noise (0.1)."""
    scores = np.full((1, 2, 8, 8), 0.1, np.float32)
    grid = np.zeros((1, 4, 8, 8), np.float32)
    for label, (y, x), score, box in (
        (1, (2, 2), 0.9, [4, 4, 12, 12]),
        (1, (2, 3), 0.6, [5, 4, 13, 12]),  # overlaps the first: suppressed
        (0, (6, 6), 0.4, [20, 20, 28, 30]),
    ):
        scores[0, label, y, x] = score
        grid[0, :, y, x] = box
    return {"scores": scores, "boxes": grid}


def test_nms_keeps_the_best_of_overlapping_boxes_of_one_class_only():
    found = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [1, 0, 11, 10], [20, 20, 30, 30]], np.float32)
    kept = boxes.nms(found, np.array([0.9, 0.8, 0.7, 0.6]), np.array([0, 0, 1, 0]), 0.5)
    assert kept.tolist() == [0, 2, 3]


def test_detect_thresholds_suppresses_and_caps():
    out = outputs()
    found, scores, labels = boxes.detect(out["scores"][0], out["boxes"][0], 0.3, 100, 0.5)
    assert labels.tolist() == [1, 0] and np.allclose(scores, [0.9, 0.4])
    assert found[0].tolist() == [4, 4, 12, 12]
    assert len(boxes.detect(out["scores"][0], out["boxes"][0], 0.5, 100, 0.5)[0]) == 1
    assert len(boxes.detect(out["scores"][0], out["boxes"][0], 0.05, 1, 0.5)[0]) == 1
    assert len(boxes.detect(out["scores"][0], out["boxes"][0], 0.05, 100, 0.5)[0]) > 10  # the noise cells too


def test_boxes_come_back_in_the_images_own_pixels_inside_it():
    back = boxes.to_original(np.array([[4, 4, 12, 12], [20, 20, 40, 30]], np.float32), 32, 64, 16)
    assert back.tolist() == [[8, 2, 24, 6], [40, 10, 64, 15]]  # the second is clipped to the 64x16 image


def test_adapter_answers_detections_with_request_options():
    adapter = serving.build_adapter(META)
    item = adapter.decode(png(64, 16))
    (answer,) = adapter.postprocess(outputs(), [item], k=5)
    assert (answer["width"], answer["height"]) == (64, 16)
    assert [d["label"] for d in answer["detections"]] == ["square", "circle"]
    assert answer["detections"][0]["box"] == [8.0, 2.0, 24.0, 6.0]
    low = adapter.decode({"image": png(64, 16), "score_threshold": 0.5, "max_detections": 10})
    assert len(adapter.postprocess(outputs(), [low], k=10)[0]["detections"]) == 1
    capped = adapter.decode({"image": png(64, 16), "score_threshold": 0.0, "max_detections": 3})
    assert len(adapter.postprocess(outputs(), [capped], k=300)[0]["detections"]) == 3
    assert len(adapter.postprocess(outputs(), [item], k=1)[0]["detections"]) == 1
    row = serving.to_row("a.png", b"", answer)
    assert row["objects"] == 2 and row["label"] == "square" and row["score"] == 0.9


def test_adapter_refuses_bad_input():
    adapter = serving.build_adapter(META, max_pixels=10_000)
    with pytest.raises(BadInput, match="not an image"):
        adapter.decode(b"hello")
    with pytest.raises(BadInput, match="above the limit"):
        adapter.decode(png(200, 100))
    with pytest.raises(BadInput, match="score_threshold") as bad:
        adapter.decode({"image": png(8, 8), "score_threshold": 1.5})
    assert bad.value.status == 422
    with pytest.raises(BadInput, match="together") as big:
        adapter.check_request([{"image": png(100, 100)}, png(100, 100), png(10, 10)])
    assert big.value.status == 413


def test_predict_url_sends_the_cap_as_a_form_field():
    request = serving.http_request("dir/a.png", b"x", 7)
    assert request["files"]["image"] == ("a.png", b"x") and request["data"] == {"max_detections": "7"}


def test_render_output_draws_each_box_on_the_image():
    prediction = {"detections": [{"label": "square", "score": 0.9, "box": [10.0, 20.0, 40.0, 50.0]}]}
    suffix, data = serving.render_output(png(64, 64), prediction)
    drawn = np.asarray(Image.open(io.BytesIO(data)))
    assert suffix == ".png" and drawn.shape == (64, 64, 3)
    assert drawn[35, 10].max() > 0 and drawn[35, 40].max() > 0  # left and right edges
    assert drawn[35, 25].max() == 0  # the inside stays as it was
