"""audio-cls model=pooled_lr (the printed baseline, served) and model=auto: the pooled features are numpy's mean and
std, pooled_lr goes train -> evaluate (equal to the printed baseline) -> export (one ONNX graph from the log-mels,
parity) -> predict on the smoke tones, and its ONNX logits equal the estimator's own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from aiaas_cli import recipes
from aiaas_cli.serving.runtime import OnnxModel
from aiaas_recipes.audio_cls.pooled import PooledLR, pooled_statistics
from aiaas_recipes.common.scores import softmax


def smoke(tmp_path: Path) -> list[str]:
    """The recipe's smoke tones; its network keys (model.channels) left out, pooled_lr has none."""
    keys = recipes.load("audio-cls").smoke_overrides(tmp_path)
    return [key for key in keys if not key.startswith("model.")] + ["export.register=false"]


def test_pooled_features_are_the_mean_and_std_over_time():
    mels = np.random.default_rng(0).normal(size=(5, 4, 7)).astype(np.float32)
    want = np.concatenate([mels.mean(2, dtype=np.float64), mels.std(2, dtype=np.float64)], axis=1)
    np.testing.assert_allclose(pooled_statistics(mels), want, atol=1e-12)


def test_pooled_lr_through_train_evaluate_export_predict(cli, tmp_path):
    recipe = recipes.load("audio-cls")
    trained = cli.json("train", "audio-cls", "model=pooled_lr", *smoke(tmp_path))
    run = f"run={trained['run_id']}"
    assert trained["checkpoint"].endswith(".skops")
    model, meta = recipe.load_model(Path(trained["checkpoint"]))
    assert isinstance(model, PooledLR) and meta["recipe"] == "audio-cls"

    report = cli.json("evaluate", "audio-cls", run)["metrics"]
    assert report["accuracy"] == report["baseline"]["accuracy"]  # the printed baseline is this model's fit

    exported = cli.json("export", "audio-cls", run)
    assert exported["parity"]["top1_agreement"] == 1.0 and exported["parity"]["samples"] > 0
    onnx = OnnxModel(exported["onnx_path"])
    assert [i.name for i in onnx.session.get_inputs()] == ["features"]  # the network's request format
    mels = np.random.default_rng(1).normal(size=(3, meta["n_mels"], meta["frames"])).astype(np.float32)
    want = model.outputs({"features": mels})["logits"]
    np.testing.assert_allclose(onnx.run({"features": mels})["logits"], want, atol=1e-4)
    np.testing.assert_allclose(softmax(want), model.probabilities(mels), atol=1e-6)

    clip = sorted((tmp_path / "tones" / "high").iterdir())[0]
    row = json.loads(cli("predict", "audio-cls", str(clip), "--model", run).stdout.splitlines()[0])
    assert row["label"] in {"low", "mid", "high"} and 0.0 < row["score"] <= 1.0


@pytest.mark.parametrize("classes", [2, 3])
def test_exported_logits_equal_the_models_own(classes, tmp_path):
    """Two classes take skl2onnx's [-s, s] raw scores to [0, s]; more take the multinomial decision function."""
    rng = np.random.default_rng(classes)
    labels = np.arange(30) % classes
    mels = rng.normal(size=(30, 6, 9)).astype(np.float32) + labels[:, None, None].astype(np.float32)
    model = PooledLR({"classes": [f"c{i}" for i in range(classes)], "n_mels": 6, "frames": 9})
    model.fit_arrays((mels, labels), (mels[:0], labels[:0]))
    model.convert(tmp_path / "model.onnx", 18)
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))  # a bare graph: no aiaas metadata yet
    got = session.run(["logits"], {"features": mels})[0]
    np.testing.assert_allclose(got, model.outputs({"features": mels})["logits"], atol=1e-4)
    np.testing.assert_allclose(softmax(got), model.probabilities(mels), atol=1e-5)


def test_auto_is_the_default_with_pooled_lr_first_and_no_hf():
    from aiaas_cli.config import compose
    from aiaas_cli.errors import ConfigError

    recipe = recipes.load("audio-cls")
    cfg = compose(recipe, ["model.channels=[8,16]"])
    assert cfg.model.kind == "auto" and recipe.candidates(cfg, {}) == ["pooled_lr", "audio_cnn"]
    assert list(cfg.model.overrides) == ["model.channels=[8,16]"]  # the network's key reaches audio_cnn only
    with pytest.raises(ConfigError, match="model=hf"):
        recipe.candidates(compose(recipe, ["model.candidates=[pooled_lr,hf]"]), {})
