"""int8 dynamic quantization of a model served through its adapter's loop, or made of several graphs.

Static quantization calibrates on one batch of a graph's inputs; a decoder step's past key/values or a denoiser's
noisy latents exist only inside the adapter's loop (Adapter.run), so nothing can feed them to a calibrator. Dynamic
quantization needs no calibration: the weights of MatMul and Gemm (or the recipe's "int8_op_types") are stored in
int8 and each batch's activations are scaled at run time. Every graph file is quantized (model.int8.onnx,
decoder.int8.onnx...; the int8 model.onnx names the int8 graphs) and judged by the static path's gate, both models
run as they are served (runtime.runner) on the test inputs.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiaas_cli import console, cpu, workspace
from aiaas_cli.recipe_api import Metrics
from aiaas_cli.serving.runtime import Feeds
from aiaas_cli.stages import quantize
from aiaas_cli.stages.onnx_file import embed_metadata

DEFAULT_OPS = ("MatMul", "Gemm")  # the weight-heavy ops; dynamic int8 elsewhere (Conv) costs more than it saves


def needs_loop(metadata: dict[str, Any], adapter: Any) -> bool:
    """Whether the model's graphs are fed only by its adapter's loop (or it has several): no static calibration."""
    return bool(metadata.get("graphs")) or getattr(adapter, "run", None) is not None


def int8_name(file: str) -> str:
    """decoder.onnx -> decoder.int8.onnx"""
    path = Path(file)
    return f"{path.stem}.int8{path.suffix}"


def quantize_graph(float_path: Path, out_path: Path, settings: quantize.Settings, ops: list[str]) -> None:
    """One ONNX file's weights to int8 (activations quantized per batch at run time)."""
    float_path, out_path = Path(float_path).resolve(), Path(out_path).resolve()
    scratch = Path(workspace.scratch_dir()).resolve()
    # ORT logs a pre-processing hint on the root logger: not the user's business (no shape inference is needed here)
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with tempfile.TemporaryDirectory(prefix="aiaas-quant-", dir=scratch) as tmp, quantize.working_dir(tmp):
            _dynamic(float_path, out_path, settings, ops)
    finally:
        logging.disable(previous)


def _dynamic(float_path: Path, out_path: Path, settings: quantize.Settings, ops: list[str]) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(float_path),
        str(out_path),
        op_types_to_quantize=list(ops),
        per_channel=bool(settings.per_channel),
        reduce_range=bool(settings.reduce_range),  # U8S8 saturates without VNNI here too (quantize.py)
        weight_type=QuantType.QInt8,
    )


def int8(
    float_path: Path,
    meta: dict,
    inputs: Feeds,
    targets: Any,
    score: Callable[[Feeds, Any], float],
    cfg: Any,
    *,
    adapter: Any,
    metrics: Metrics = Metrics(names=("score",), headline="score"),
    features: cpu.CpuFeatures | None = None,
) -> dict[str, Any]:
    """Write model.int8.onnx (and <graph>.int8.onnx for each graph ``meta`` names) next to ``float_path`` unless the
    gate refuses it (quantize.int8's rule); ``inputs``: the adapter's feeds of the test samples."""
    features = features or cpu.detect()
    settings = quantize.pick_settings(cfg, features)
    quantization = {"method": "dynamic", "target_cpu": settings.target_cpu, "per_channel": settings.per_channel,
                    "reduce_range": settings.reduce_range, "weight_type": "int8", "activation_type": "uint8",
                    "cpu": features.summary()}  # fmt: skip
    ops = list(meta.get("int8_op_types") or DEFAULT_OPS)
    graphs = {name: int8_name(file) for name, file in (meta.get("graphs") or {}).items()}
    target = float_path.with_name("model.int8.onnx")
    console.step(
        f"Quantizing to int8 (dynamic: {', '.join(ops)} weights in int8{' (7 bits)' if settings.reduce_range else ''}"
        f", no calibration) {1 + len(graphs)} graph file(s) for target_cpu={settings.target_cpu}; "
        f"measured on {features.describe()}"
    )
    report: dict[str, Any] = {}
    try:
        with workspace.temp_dir(target.parent) as folder:  # every int8 file lands together, only once accepted
            for name, file in (meta.get("graphs") or {}).items():
                quantize_graph(float_path.with_name(file), folder / graphs[name], settings, ops)
            quantize_graph(float_path, folder / target.name, settings, ops)
            int8_meta = {**meta, **({"graphs": graphs} if graphs else {}), "quantized": "int8"}
            embed_metadata(folder / target.name, {**int8_meta, "quantization": quantization})
            report = quantize.compare(float_path, folder / target.name, inputs, targets, score, cfg, metrics, adapter)
            if not report["accepted"]:
                raise quantize.Refused
            for file in (*graphs.values(), target.name):  # model.int8.onnx last: it names the others
                os.replace(folder / file, target.parent / file)
    except quantize.Refused:
        quantize.warn_refused(report, cfg)
    except OSError as exc:  # a full disk is one line: nothing was written under the int8 names
        raise workspace.disk_full(exc, target) or exc from None
    report["graph_files"] = list(graphs.values())
    return quantize.finish(report, quantization, target, metrics)
