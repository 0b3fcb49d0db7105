"""image-det's export gate on synthetic heatmaps: the detections the user gets (above the serving threshold) must
be the same boxes, labels and scores; raw heatmap differences below that are reported, not judged."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from aiaas_recipes.image_det.recipe import recipe

OBJECTS = [  # (label, cell y, cell x, score, box in input pixels)
    (0, 2, 2, 0.9, [4.0, 4.0, 12.0, 12.0]),
    (1, 2, 6, 0.8, [20.0, 4.0, 30.0, 14.0]),
    (0, 6, 3, 0.7, [8.0, 20.0, 16.0, 30.0]),
    (1, 6, 6, 0.6, [22.0, 22.0, 31.0, 31.0]),
]


def heatmaps(images: int = 10) -> dict:
    """``images`` copies of one scene: four objects of two classes on an 8x8 grid of a 32-pixel input."""
    scores = np.full((images, 2, 8, 8), 0.02, np.float32)
    grid = np.zeros((images, 4, 8, 8), np.float32)
    for label, y, x, score, box in OBJECTS:
        scores[:, label, y, x] = score
        grid[:, :, y, x] = box
    return {"scores": scores, "boxes": grid}


def cfg(**overrides):
    return OmegaConf.create(
        {"score_tolerance": 0.01, "box_iou": 0.99, "score_threshold": 0.3, "min_agreement": 0.99, **overrides}
    )


def judged(actual: dict, **overrides) -> tuple:
    result = recipe.compare_outputs(heatmaps(), actual, cfg(**overrides))
    return result, recipe.parity_problem(result, cfg(**overrides))


def test_kernel_sized_differences_pass():
    """Noise of the size CPU kernels make (the 0.013 of issue 30 on low cells; 1e-3 on peaks and boxes) passes."""
    actual = heatmaps()
    rng = np.random.default_rng(0)
    low = actual["scores"] < 0.1
    actual["scores"][low] += rng.uniform(0, 0.013, int(low.sum())).astype(np.float32)
    actual["scores"][~low] += rng.normal(0, 1e-3, int((~low).sum())).astype(np.float32)
    actual["boxes"] += rng.normal(0, 1e-3, actual["boxes"].shape).astype(np.float32)
    result, problem = judged(actual)
    assert problem is None and result.agreement == 1.0 and result.max_abs_diff > 0.01


def test_a_moved_box_fails_and_is_named():
    actual = heatmaps()
    actual["boxes"][3, :, 6, 3] += np.float32([2, 0, 2, 0])  # image 3's third object shifts by 2 pixels
    result, problem = judged(actual)
    assert result.agreement == pytest.approx(0.9)
    assert "worst: image 3: class 0 at [8.0, 20.0, 16.0, 30.0] (0.700) is missing: best IoU" in problem
    assert "export.box_iou=0.99" in problem


def test_a_changed_label_fails():
    actual = heatmaps()
    actual["scores"][5, 1, 2, 2], actual["scores"][5, 0, 2, 2] = 0.9, 0.02  # same box, other class
    result, problem = judged(actual)
    assert result.agreement == pytest.approx(0.9) and "image 5: class 0 at [4.0, 4.0, 12.0, 12.0]" in problem
    assert "(+1 more)" in problem  # the class-1 box is new as well


def test_a_score_beyond_tolerance_fails_within_passes():
    actual = heatmaps()
    actual["scores"][1, 1, 2, 6] += 0.005
    assert judged(actual)[1] is None
    actual["scores"][1, 1, 2, 6] += 0.05
    result, problem = judged(actual)
    assert result.agreement == pytest.approx(0.9) and "scores 0.800 -> 0.855" in problem


def test_a_detection_on_the_threshold_may_be_missing():
    """A score within score_tolerance of the serving threshold sits on the edge: either answer is the same model."""
    expected, actual = heatmaps(), heatmaps()
    expected["scores"][:, 0, 4, 4] = 0.305
    actual["scores"][:, 0, 4, 4] = 0.298
    result = recipe.compare_outputs(expected, actual, cfg())
    assert result.agreement == 1.0
    actual["scores"][:, 0, 4, 4] = 0.2
    assert recipe.compare_outputs(expected, actual, cfg()).agreement == 0.0


def test_boxes_below_the_serving_threshold_are_not_judged():
    actual = heatmaps()
    actual["scores"][:, 1, 0, 0] = 0.25  # a new weak box the default request never sees
    assert judged(actual)[0].agreement == 1.0
    assert judged(actual, score_threshold=0.1)[0].agreement == 0.0  # a gate at a lower threshold sees it
