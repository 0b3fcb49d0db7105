"""A converted scikit-learn / LightGBM graph made into the served tabular model: its one float input FEATURES is
built inside the graph from the "numeric" (float, NaN where missing) and "categorical" (int64) inputs, exactly as
`estimator.features` builds it in Python, and its outputs get the names the serving adapter reads."""

from __future__ import annotations

from typing import Any

from aiaas_recipes.tabular.encode import CATEGORICAL, NUMERIC
from aiaas_recipes.tabular.estimator import FEATURES


def feature_nodes(inputs: dict[str, int], indicators: list[int]) -> tuple[list[Any], list[Any], list[Any]]:
    """(graph inputs, initializers, nodes) that compute FEATURES = [numbers, missing indicators, codes as float]."""
    from onnx import TensorProto, helper

    graph_inputs, initializers, nodes, parts = [], [], [], []
    if inputs[NUMERIC]:
        graph_inputs.append(helper.make_tensor_value_info(NUMERIC, TensorProto.FLOAT, ["batch", inputs[NUMERIC]]))
        parts.append(NUMERIC)
    if indicators:
        initializers.append(helper.make_tensor("indicator_columns", TensorProto.INT64, [len(indicators)], indicators))
        nodes += [
            helper.make_node("Gather", [NUMERIC, "indicator_columns"], ["indicated"], axis=1),
            helper.make_node("IsNaN", ["indicated"], ["indicated_missing"]),
            helper.make_node("Cast", ["indicated_missing"], ["missing_indicators"], to=TensorProto.FLOAT),
        ]
        parts.append("missing_indicators")
    if inputs[CATEGORICAL]:
        shape = ["batch", inputs[CATEGORICAL]]
        graph_inputs.append(helper.make_tensor_value_info(CATEGORICAL, TensorProto.INT64, shape))
        nodes.append(helper.make_node("Cast", [CATEGORICAL], [f"{CATEGORICAL}_float"], to=TensorProto.FLOAT))
        parts.append(f"{CATEGORICAL}_float")
    nodes.append(helper.make_node("Concat", parts, [FEATURES], axis=1))
    return graph_inputs, initializers, nodes


def wire_inputs(model: Any, inputs: dict[str, int], indicators: list[int], outputs: list[str]) -> Any:
    """``model`` (input FEATURES) with the two model inputs in its place, its outputs renamed to ``outputs`` (in
    order) with a symbolic batch axis; returns it."""
    graph = model.graph
    graph_inputs, initializers, nodes = feature_nodes(inputs, indicators)
    del graph.input[:]
    graph.input.extend(graph_inputs)
    graph.initializer.extend(initializers)
    for i, node in enumerate(nodes):
        graph.node.insert(i, node)
    for output, name in zip(list(graph.output), outputs):
        _rename_output(graph, output.name, name)
        dims = output.type.tensor_type.shape.dim
        if len(dims):  # some converters fix the label's batch at 1, which ONNX Runtime warns about on every call
            dims[0].dim_param = "batch"
    _dedupe_opsets(model)
    return model


def _dedupe_opsets(model: Any) -> None:
    """skl2onnx lists the default domain twice; ONNX Runtime's tools (int8 quantization) refuse that."""
    versions: dict[str, int] = {}
    for opset in model.opset_import:
        versions[opset.domain] = max(versions.get(opset.domain, 0), opset.version)
    del model.opset_import[:]
    for domain, version in versions.items():
        model.opset_import.add(domain=domain, version=version)


def _rename_output(graph: Any, old: str, new: str) -> None:
    if old == new:
        return
    for node in graph.node:
        node.output[:] = [new if name == old else name for name in node.output]
    for output in graph.output:
        if output.name == old:
            output.name = new
