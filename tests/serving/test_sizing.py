"""serve.workers=auto / serve.threads=auto: the model is timed on one item when the Bento is built, and the server
gets 2 workers x 1 thread (a fast model) or 1 worker x every core (a slow one)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from aiaas_cli import config, recipes
from aiaas_cli.errors import ConfigError
from aiaas_cli.serving import sizing
from aiaas_cli.stages import package


def _model(tmp_path):
    """pixels [batch, 4] * 2 and an embedding lookup of ids [batch, length] (both axes symbolic)."""
    table = numpy_helper.from_array(np.arange(40, dtype=np.float32).reshape(10, 4), "table")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"]), helper.make_node("Gather", ["table", "ids"], ["e"])],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "length"]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("e", TensorProto.FLOAT, ["batch", "length", 4]),
        ],
        [table, numpy_helper.from_array(np.float32(2.0), "two")],
    )
    return _save(graph, tmp_path)


def _save(graph, tmp_path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"aiaas": "{}"})
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize(
    ("workers", "threads", "ms", "expected"),
    [
        ("auto", "auto", 0.8, (2, 1)),  # digits
        ("auto", "auto", 50.0, (1, None)),  # resnet18 at 224 px
        ("auto", "auto", None, (2, 1)),  # not timed: as for a fast model
        ("auto", 3, 50.0, (1, 3)),
        (1, "auto", None, (1, None)),
        (3, "auto", None, (3, 1)),
        (2, None, None, (2, None)),
    ],
)
def test_layout_resolves_each_auto_from_the_model_cost(workers, threads, ms, expected):
    assert sizing.layout(workers, threads, ms) == expected


def test_a_model_is_timed_on_zeros_of_its_input_types_and_symbolic_axes(tmp_path):
    feeds = sizing.zero_feeds(__import__("onnxruntime").InferenceSession(str(_model(tmp_path))).get_inputs())
    assert feeds["x"].shape == (1, 4) and feeds["x"].dtype == np.float32
    assert feeds["ids"].shape == (1, sizing.SYMBOLIC_LENGTH) and feeds["ids"].dtype == np.int64
    ms = sizing.item_ms(_model(tmp_path), budget_s=0.05)
    assert ms is not None and 0 < ms < 1000


def test_a_model_that_cannot_run_on_zeros_is_not_timed(tmp_path):
    text = helper.make_tensor_value_info("text", TensorProto.STRING, ["batch"])  # no zeros of a string type
    same = helper.make_tensor_value_info("same", TensorProto.STRING, ["batch"])
    graph = helper.make_graph([helper.make_node("Identity", ["text"], ["same"])], "g", [text], [same])
    assert sizing.item_ms(_save(graph, tmp_path), budget_s=0.05) is None


def test_package_settings_size_the_server_from_the_model(tmp_path, monkeypatch):
    recipe = recipes.load("image-cls")
    path = _model(tmp_path)
    fast = package.settings(config.compose(recipe, []).serve, path)
    assert (fast["workers"], fast["threads"]) == (2, 1)
    monkeypatch.setattr(sizing, "SLOW_MS", 0.0)  # the same tiny model counts as slow: the wiring, not the timing
    slow = package.settings(config.compose(recipe, []).serve, path)
    assert (slow["workers"], slow["threads"]) == (1, None)
    chosen = package.settings(config.compose(recipe, ["serve.workers=3", "serve.threads=2"]).serve, path)
    assert (chosen["workers"], chosen["threads"]) == (3, 2)


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ("serve.workers=many", "must be a number or auto"),
        ("serve.workers=0", "must be at least 1"),
        ("serve.threads=lots", "must be a number or auto"),
    ],
)
def test_workers_and_threads_are_numbers_or_auto(override, problem):
    with pytest.raises(ConfigError, match=f"{override} {problem}"):
        config.compose(recipes.load("image-cls"), [override])
    assert config.compose(recipes.load("image-cls"), ["serve.threads=null"]).serve.threads is None
