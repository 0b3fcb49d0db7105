"""int8 static quantization of an exported model (ONNX Runtime, QDQ), judged against the float model."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli import console, workspace
from aiaas_cli.serving.runtime import OnnxModel
from aiaas_cli.stages.export import embed_metadata, onnx_outputs

_CALIBRATION_BATCH = 16


class _Batches:
    """ONNX Runtime's CalibrationDataReader protocol over one numpy array."""

    def __init__(self, input_name: str, samples: np.ndarray):
        self.input_name = input_name
        self.chunks = iter([samples[i : i + _CALIBRATION_BATCH] for i in range(0, len(samples), _CALIBRATION_BATCH)])

    def get_next(self) -> dict | None:
        chunk = next(self.chunks, None)
        return None if chunk is None else {self.input_name: chunk}


def quantize_static(float_path: Path, out_path: Path, calibration: np.ndarray, input_name: str, cfg: Any) -> None:
    """Static QDQ quantization: uint8 activations, int8 weights (per channel when asked)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quant_pre_process, quantize_static

    with tempfile.TemporaryDirectory(prefix="aiaas-quant-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        try:
            quant_pre_process(str(float_path), str(prepared))  # shape inference + folding, as ORT recommends
        except Exception:  # ORT's symbolic shape inference fails on some graphs (an LSTM's): plain ONNX inference
            quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out_path),
            _Batches(input_name, calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=bool(cfg.per_channel),
            reduce_range=bool(cfg.reduce_range),
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )


def latency_ms(run: Callable[[np.ndarray], Any], sample: np.ndarray, runs: int, warmup: int = 5) -> float:
    """Median wall time of ``run(sample)`` in milliseconds."""
    for _ in range(warmup):
        run(sample)
    times = []
    for _ in range(max(runs, 1)):
        start = time.perf_counter()
        run(sample)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000.0)


def _compare(float_path: Path, int8_path: Path, inputs, labels, score, cfg: Any) -> dict[str, Any]:
    float_model, int8_model = OnnxModel(float_path), OnnxModel(int8_path)
    float_score = score(onnx_outputs(float_model, inputs), labels)
    int8_score = score(onnx_outputs(int8_model, inputs), labels)
    drop = round((float_score - int8_score) * 100.0, 4)
    return {
        "accepted": drop <= float(cfg.max_accuracy_drop),
        "float_accuracy": float_score,
        "int8_accuracy": int8_score,
        "accuracy_drop_points": drop,
        "max_accuracy_drop": float(cfg.max_accuracy_drop),
        "float_size_bytes": float_path.stat().st_size,
        "int8_size_bytes": int8_path.stat().st_size,
        "float_latency_ms": latency_ms(float_model.run, inputs[:1], int(cfg.latency_runs)),
        "int8_latency_ms": latency_ms(int8_model.run, inputs[:1], int(cfg.latency_runs)),
        "samples": len(inputs),
    }


class _Refused(Exception):
    """Leaves the atomic block so that a refused int8 model is never written."""


def int8(
    float_path: Path,
    meta: dict,
    calibration: np.ndarray,
    inputs: np.ndarray,
    labels: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], float],
    cfg: Any,
) -> dict[str, Any]:
    """Write model.int8.onnx next to ``float_path`` unless it loses more than cfg.max_accuracy_drop points."""
    target = float_path.with_name("model.int8.onnx")
    console.step(f"Quantizing to int8 (static QDQ, calibrated on {len(calibration)} training samples)")
    report: dict[str, Any] = {}
    try:
        with workspace.atomic_file(target) as temp:
            quantize_static(float_path, temp, calibration, meta["input_name"], cfg)
            embed_metadata(temp, {**meta, "quantized": "int8"})
            report = _compare(float_path, temp, inputs, labels, score, cfg)
            if not report["accepted"]:
                raise _Refused
    except _Refused:
        console.warn(
            f"int8 model refused: test accuracy drops {report['accuracy_drop_points']:.2f} points "
            f"({report['float_accuracy']:.4f} -> {report['int8_accuracy']:.4f}), more than "
            f"export.max_accuracy_drop={cfg.max_accuracy_drop}; keeping the float model"
        )
    report["path"] = str(target) if report["accepted"] else None
    ratio = report["int8_latency_ms"] / max(report["float_latency_ms"], 1e-9)
    console.step(
        f"int8: accuracy {report['int8_accuracy']:.4f} (float {report['float_accuracy']:.4f}), "
        f"size {report['int8_size_bytes'] / 1e6:.2f} MB (float {report['float_size_bytes'] / 1e6:.2f} MB), "
        f"batch-1 latency {ratio:.2f}x float"
    )
    return report
