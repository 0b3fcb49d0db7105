"""seq-cls model=summary_lr (logistic regression on summary statistics) and model=auto: the statistics equal numpy's
own, summary_lr goes train -> evaluate -> export (one ONNX graph from the raw sequence) -> predict on the smoke data,
and model=auto keeps the candidate with the better validation score; load_model reads both checkpoint kinds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from aiaas_cli import recipes
from aiaas_cli.serving.runtime import OnnxModel
from aiaas_recipes.common.scores import softmax
from aiaas_recipes.sequence.classify.summary import summary_statistics
from aiaas_recipes.sequence.classify.summary_lr import SummaryLR


def smoke(tmp_path: Path) -> list[str]:
    """The recipe's smoke data; its network keys (model.hidden) left out, summary_lr has none."""
    keys = recipes.load("seq-cls").smoke_overrides(tmp_path)
    return [key for key in keys if not key.startswith("model.")] + ["export.register=false"]


def by_numpy(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The statistics written plainly in numpy, one sequence at a time."""
    rows = []
    for sequence, length in zip(values, lengths):
        real = sequence[: max(int(length), 1)].astype(np.float64)
        steps = np.abs(np.diff(real, axis=0)).mean(0) if len(real) > 1 else np.zeros(real.shape[1])
        parts = [real.mean(0), real.std(0), real.min(0), real.max(0), *np.percentile(real, [10, 50, 90], 0), steps]
        rows.append(np.concatenate([*parts, [length]]))
    return np.asarray(rows)


def test_summary_statistics_equal_numpy_on_ragged_sequences():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(30, 12, 3)).astype(np.float32)
    lengths = rng.integers(1, 13, 30)
    lengths[:2] = [1, 12]  # one step (no step size), and no padding at all
    for row, length in enumerate(lengths):
        values[row, length:] = 0.0  # padding, as the split arrays hold it
    np.testing.assert_allclose(summary_statistics(values, lengths), by_numpy(values, lengths), atol=1e-12)


def test_summary_lr_through_train_evaluate_export_predict(cli, tmp_path):
    recipe = recipes.load("seq-cls")
    trained = cli.json("train", "seq-cls", "model=summary_lr", *smoke(tmp_path))
    run = f"run={trained['run_id']}"
    assert trained["checkpoint"].endswith(".skops")
    model, meta = recipe.load_model(Path(trained["checkpoint"]))
    assert isinstance(model, SummaryLR) and meta["recipe"] == "seq-cls"

    report = cli.json("evaluate", "seq-cls", run)["metrics"]
    assert 0.0 <= report["accuracy"] <= 1.0 and {"accuracy", "macro_f1"} <= set(report["baseline"])

    exported = cli.json("export", "seq-cls", run, "export.register=false")
    assert exported["parity"]["top1_agreement"] == 1.0 and exported["parity"]["samples"] > 0
    onnx = OnnxModel(exported["onnx_path"])
    assert [i.name for i in onnx.session.get_inputs()] == ["sequence", "lengths"]  # the network's request format
    rng = np.random.default_rng(1)
    for batch, steps in [(1, 3), (4, 12)]:  # any batch and length, padded rows included
        values = rng.normal(size=(batch, steps, len(meta["features"]))).astype(np.float32)
        lengths = rng.integers(1, steps + 1, batch)
        for row, length in enumerate(lengths):
            values[row, length:] = 0.0
        want = model.outputs({"sequence": values, "lengths": lengths})["logits"]
        np.testing.assert_allclose(onnx.run({"sequence": values, "lengths": lengths})["logits"], want, atol=1e-4)
        np.testing.assert_allclose(softmax(want), model.probabilities(values, lengths), atol=1e-6)

    sequence = [[0.1] * len(meta["features"]), [0.4] * len(meta["features"]), [0.2] * len(meta["features"])]
    (tmp_path / "one.json").write_text(json.dumps({"sequence": sequence}))
    out = cli("predict", "seq-cls", str(tmp_path / "one.json"), "--model", run).stdout
    row = json.loads(out.splitlines()[0])
    padded = np.zeros((1, meta["max_length"], len(meta["features"])), np.float32)  # as the serving adapter pads
    padded[0, :3] = sequence
    own = model.probabilities(padded, np.array([3]))[0]
    assert row["label"] == meta["classes"][own.argmax()] and row["score"] == pytest.approx(own.max(), abs=1e-5)


def test_auto_keeps_the_better_validation_candidate(cli, tmp_path):
    recipe = recipes.load("seq-cls")
    keys = recipe.smoke_overrides(tmp_path) + ["trainer.max_epochs=2"]
    trained = cli.json("train", "seq-cls", "model=auto", *keys)
    rows = {row["name"]: row for row in trained["leaderboard"]}
    assert set(rows) == {"summary_lr", "seq_lstm"} and all(row["status"] == "trained" for row in rows.values())
    order = ["summary_lr", "seq_lstm"]
    best = max(rows.values(), key=lambda row: (row["val"], -order.index(row["name"])))  # a tie keeps the cheaper
    assert trained["chosen_model"] == best["name"] and rows[best["name"]]["chosen"]

    home = Path(trained["checkpoint"])
    while home.name != trained["run_id"]:
        home = home.parent
    kinds = {name: type(recipe.load_model(home / row["checkpoint"])[0]).__name__ for name, row in rows.items()}
    assert kinds["summary_lr"] == "SummaryLR" and kinds["seq_lstm"] == "SequenceRNN"  # a .skops and a .ckpt


def test_auto_is_the_default_with_summary_lr_first():
    from aiaas_cli.config import compose

    recipe = recipes.load("seq-cls")
    cfg = compose(recipe, ["model.hidden=8"])
    assert cfg.model.kind == "auto" and recipe.candidates(cfg, {}) == ["summary_lr", "seq_lstm"]
    assert list(cfg.model.overrides) == ["model.hidden=8"]  # the network's key reaches seq_lstm only


@pytest.mark.parametrize("classes", [2, 3])
def test_exported_logits_equal_the_models_own(classes, tmp_path):
    """Two classes take skl2onnx's [-s, s] raw scores to [0, s]; more take the multinomial decision function."""
    rng = np.random.default_rng(classes)
    values = rng.normal(size=(40, 9, 2)).astype(np.float32)
    lengths = rng.integers(1, 10, 40)
    labels = np.arange(40) % classes
    values += labels[:, None, None].astype(np.float32)  # a class is told by its level
    meta = {"classes": [f"c{i}" for i in range(classes)], "features": ["a", "b"]}
    model = SummaryLR(meta)
    model.model.fit(summary_statistics(values, lengths), labels)
    model.convert(tmp_path / "model.onnx", 18)
    feeds = {"sequence": values, "lengths": lengths.astype(np.int64)}
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))  # a bare graph: no aiaas metadata yet
    got = session.run(["logits"], feeds)[0]
    np.testing.assert_allclose(got, model.outputs(feeds)["logits"], atol=1e-4)
    np.testing.assert_allclose(softmax(got), model.probabilities(values, lengths), atol=1e-5)
