"""An ONNX graph for a linear forecaster: context (batch, steps, features) -> forecast (batch, horizon, targets).

Each target's forecast is weights[target] @ that target's context + bias[target]; covariates get zero weights.
The arithmetic runs in float64 inside the graph (the float32 feeds cast up) so the served forecast matches the
fitted model's to far below export.tolerance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def dense(weights: np.ndarray, features: int) -> np.ndarray:
    """(steps * features, horizon * targets): weights (targets, horizon, steps) laid out for the flattened context."""
    targets, horizon, steps = weights.shape
    matrix = np.zeros((steps, features, horizon, targets))
    for k in range(targets):
        matrix[:, k, :, k] = weights[k].T
    return matrix.reshape(steps * features, horizon * targets)


def write(
    path: Path, weights: np.ndarray, bias: np.ndarray, features: int, opset: int, doc: str = "", name: str = "context"
) -> None:
    """Save the graph: ``weights`` (targets, horizon, steps) and ``bias`` (targets, horizon) on the feeds' scale;
    its input is called ``name``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    targets, horizon, steps = weights.shape
    constants = [
        numpy_helper.from_array(dense(weights, features).astype(np.float64), "weights"),
        numpy_helper.from_array(bias.T.reshape(-1).astype(np.float64), "bias"),
        numpy_helper.from_array(np.array([0, steps * features], np.int64), "flat"),
        numpy_helper.from_array(np.array([0, horizon, targets], np.int64), "shaped"),
    ]
    nodes = [
        helper.make_node("Reshape", [name, "flat"], ["rows"]),
        helper.make_node("Cast", ["rows"], ["rows64"], to=TensorProto.DOUBLE),
        helper.make_node("MatMul", ["rows64", "weights"], ["product"]),
        helper.make_node("Add", ["product", "bias"], ["sum"]),
        helper.make_node("Cast", ["sum"], ["sum32"], to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["sum32", "shaped"], ["forecast"]),
    ]
    graph = helper.make_graph(
        nodes,
        "linear_forecaster",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", steps, features])],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, ["batch", horizon, targets])],
        initializer=constants,
        doc_string=doc,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", int(opset))], producer_name="aiaas")
    onnx.save(model, str(path))
