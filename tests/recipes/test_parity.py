"""The export gate in each task's terms, on synthetic outputs: a perturbation smaller than the task's tolerance
passes, one that changes an answer (a label, a value, a pixel's class, a tag, a transcript, a mel) fails with the
worst example named. No model and no CPU's own bits: the "ONNX" outputs are the reference ones, nudged."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from aiaas_cli.recipes import load
from aiaas_conf import __file__ as conf_init
from aiaas_recipes.asr import export as asr_export
from aiaas_recipes.common import parity
from aiaas_recipes.token_cls import export as token_export

RNG = np.random.default_rng(0)


def export_cfg(**overrides):
    """conf/export/onnx.yaml's keys and defaults, as the stage hands them to the recipe."""
    from pathlib import Path

    cfg = OmegaConf.load(Path(conf_init).parent / "export" / "onnx.yaml")
    cfg.pop("defaults")
    return OmegaConf.merge(cfg, overrides)


def gate(recipe_name: str, expected: dict, actual: dict, **overrides) -> tuple[object, str | None]:
    recipe, cfg = load(recipe_name), export_cfg(**overrides)
    result = recipe.compare_outputs(expected, actual, cfg)
    return result, recipe.parity_problem(result, cfg)


def nudged(outputs: dict, scale: float) -> dict:
    return {k: v + RNG.normal(0, scale, v.shape).astype(v.dtype) for k, v in outputs.items()}


@pytest.mark.parametrize("name", ["image-cls", "text-cls", "audio-cls", "seq-cls"])
def test_classification_gate_is_top1_and_probabilities(name):
    logits = {"logits": RNG.normal(0, 3, (200, 5)).astype(np.float32)}
    logits["logits"][np.arange(200), RNG.integers(0, 5, 200)] += 6  # clear winners: a nudge cannot flip them
    result, problem = gate(name, logits, nudged(logits, 1e-3))  # like a CPU kernel's rounding, 10x over
    assert problem is None and result.agreement == 1.0 and result.max_abs_diff > 1e-4
    flipped = {"logits": logits["logits"].copy()}
    flipped["logits"][7:10] = np.roll(flipped["logits"][7:10], 1, axis=1)  # three answers change
    result, problem = gate(name, logits, flipped)
    assert result.agreement == pytest.approx(197 / 200) and "top1 agreement 98.50%" in problem
    assert (
        "export.min_agreement=0.99" in problem and "worst: sample " in problem and result.setting == "score_tolerance"
    )


def test_tabular_gates():
    probabilities = {"probabilities": np.array([[0.9, 0.1], [0.2, 0.8]] * 50, np.float32)}
    assert gate("tabular-cls", probabilities, nudged(probabilities, 1e-4))[1] is None
    moved = {"probabilities": probabilities["probabilities"].copy()}
    moved["probabilities"][::2] += np.float32([0.05, -0.05])  # half the rows: same labels, other scores
    result, problem = gate("tabular-cls", probabilities, moved)
    assert result.agreement == 0.5 and "probabilities differ by up to 0.05" in problem
    values = {"value": np.linspace(-5000, 5000, 100, dtype=np.float32)[:, None]}
    close = {"value": values["value"] * np.float32(1 + 1e-5)}  # float32 rounding of large targets
    assert gate("tabular-reg", values, close)[1] is None
    off = {"value": values["value"].copy()}
    off["value"][3] *= 1.05
    result, problem = gate("tabular-reg", values, off)
    assert result.agreement == 0.99 and problem is None  # one row in a hundred is allowed by min_agreement=0.99
    problem = gate("tabular-reg", values, off, min_agreement=1.0)[1]
    assert "within tolerance 99.00%" in problem and "sample 3: value" in problem and "export.tolerance" in problem


def test_forecast_gate_is_relative():
    forecast = {"forecast": RNG.normal(0, 50, (64, 12, 2)).astype(np.float32)}
    assert gate("forecast", forecast, nudged(forecast, 1e-5))[1] is None
    off = {"forecast": forecast["forecast"].copy()}
    off["forecast"][:2, 5, 1] += 5
    result, problem = gate("forecast", forecast, off)
    assert result.agreement == pytest.approx(62 / 64) and "worst: sample " in problem and "forecast" in problem


def test_segmentation_gate_counts_pixels():
    logits = {"logits": RNG.normal(0, 1, (4, 3, 32, 32)).astype(np.float32)}
    logits["logits"][:, 0] += 5  # background wins clearly
    assert gate("image-seg", logits, nudged(logits, 1e-3), min_agreement=0.999)[1] is None
    one_pixel = {"logits": logits["logits"].copy()}
    one_pixel["logits"][0, 2, 0, 0] += 20  # a class changes at 1 pixel of 4096: within 99.9%
    assert gate("image-seg", logits, one_pixel, min_agreement=0.999)[1] is None
    patch = {"logits": logits["logits"].copy()}
    patch["logits"][2, 1, :4, :4] += 20
    result, problem = gate("image-seg", logits, patch, min_agreement=0.999)
    assert result.agreement == pytest.approx(1 - 16 / 4096) and "image 2: 16 of 1024 pixels changed class" in problem


def test_token_gate_is_whole_sentences():
    logits = RNG.normal(0, 1, (50, 12, 7)).astype(np.float32)
    logits[..., 0] += 6
    expected = {token_export.OUTPUT_NAME: logits}
    assert gate("token-cls", expected, nudged(expected, 1e-3))[1] is None
    tagged = logits.copy()
    tagged[4, 9, 3] += 20  # one tag of one sentence
    result, problem = gate("token-cls", expected, {token_export.OUTPUT_NAME: tagged})
    assert (
        result.agreement == pytest.approx(49 / 50)
        and "sample 4 differs from position 9: [0, 0, 0] became [3, 0, 0]" in problem
    )


def ctc(paths: list[list[int]], classes: int = 6) -> np.ndarray:
    """Log-probs whose best class per frame follows ``paths`` by a wide margin."""
    out = np.full((len(paths), len(paths[0]), classes), -8.0, np.float32)
    for i, path in enumerate(paths):
        out[i, np.arange(len(path)), path] = -0.01
    return out


def test_asr_gate_is_the_transcript():
    want = ctc([[0, 2, 2, 0, 3, 0]] * 40)
    expected = {asr_export.OUTPUT_NAME: want}
    assert gate("asr", expected, nudged(expected, 1e-3))[1] is None
    same_text = ctc([[0, 2, 0, 0, 3, 3]] + [[0, 2, 2, 0, 3, 0]] * 39)  # other path, same transcript "bc"
    assert gate("asr", expected, {asr_export.OUTPUT_NAME: same_text})[0].agreement == 1.0
    other_text = ctc([[0, 2, 2, 0, 4, 0]] + [[0, 2, 2, 0, 3, 0]] * 39)
    result, problem = gate("asr", expected, {asr_export.OUTPUT_NAME: other_text})
    assert result.agreement == 39 / 40 and "transcript agreement" in problem and "[3] became [4]" in problem


def test_tts_gate_is_durations_and_mel():
    durations = RNG.integers(1, 4, (8, 10)).astype(np.int64)
    mel = RNG.normal(-4, 2, (8, 40, 16)).astype(np.float32)
    expected = {"mel": mel, "mel_lengths": durations.sum(1), "durations": durations}
    close = {**expected, "mel": mel + np.float32(1e-4)}
    assert gate("tts", expected, close)[1] is None
    longer = durations.copy()
    longer[5, 2] += 1
    result, problem = gate("tts", expected, {**expected, "durations": longer})
    assert result.agreement == 7 / 8 and "utterance 5: phoneme durations differ" in problem
    louder = mel.copy()
    louder[1, :3] += 0.5
    result, problem = gate("tts", expected, {**expected, "mel": louder})
    assert result.agreement == 7 / 8 and "utterance 1: mel" in problem and result.setting == "tolerance"


def test_raw_difference_is_reported_not_judged():
    """A difference far above the old raw tolerance (the 0.013 of issue 30) passes when no answer changes."""
    logits = np.zeros((10, 3), np.float32)
    logits[:, 1] = 10
    result = parity.top1(logits, logits + np.float32(0.013), 0.01)
    assert result.max_abs_diff == pytest.approx(0.013, abs=1e-6) and result.agreement == 1.0
