"""Models of several graphs: model.onnx names further graph files beside it; an adapter's `run` drives them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from aiaas_cli.errors import UserError
from aiaas_cli.serving.runtime import METADATA_KEY, OnnxModel, runner


def _graph(path: Path, op: str, metadata: dict | None = None) -> None:
    """y = x <op> x, float32 [batch, 2]."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])
    graph = helper.make_graph([helper.make_node(op, ["x", "x"], ["y"])], op, [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata is not None:
        helper.set_model_props(model, {METADATA_KEY: json.dumps(metadata)})
    onnx.save(model, str(path))


class Twice:
    """An adapter whose `run` feeds the main graph's output through the "step" graph (a two-step loop)."""

    def run(self, model: OnnxModel, feeds: dict) -> dict:
        first = model.run(feeds)["y"]
        return {"y": model.graphs["step"].run({"x": first})["y"]}


def test_further_graphs_load_beside_model_onnx_and_the_adapter_runs_them(tmp_path):
    _graph(tmp_path / "model.onnx", "Add", {"recipe": "t", "graphs": {"step": "step.onnx"}})
    _graph(tmp_path / "step.onnx", "Mul")
    model = OnnxModel(tmp_path / "model.onnx")
    assert set(model.graphs) == {"step"} and model.files()[1] == tmp_path / "step.onnx"
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    assert runner(model, object()) == model.run  # no `run`: one call of model.onnx
    np.testing.assert_allclose(runner(model, Twice())({"x": x})["y"], [[4.0, 16.0]])  # (x+x)*(x+x)


@pytest.mark.parametrize("file", ["../step.onnx", "sub/step.onnx", ".hidden.onnx"])
def test_a_graph_file_outside_the_model_folder_is_refused(tmp_path, file):
    (tmp_path / "m").mkdir()
    _graph(tmp_path / "m" / "model.onnx", "Add", {"recipe": "t", "graphs": {"step": file}})
    _graph(tmp_path / "step.onnx", "Mul")
    with pytest.raises(UserError, match="outside its folder"):
        OnnxModel(tmp_path / "m" / "model.onnx")


def test_a_missing_graph_file_is_one_clear_error(tmp_path):
    _graph(tmp_path / "model.onnx", "Add", {"recipe": "t", "graphs": {"step": "step.onnx"}})
    with pytest.raises(UserError, match="step.onnx does not exist"):
        OnnxModel(tmp_path / "model.onnx")
