"""int8 static quantization of an exported model (ONNX Runtime, QDQ), judged against the float model.

The settings depend on the CPU that will serve the model. ONNX Runtime's x86 U8S8 kernels without VNNI
(VPMADDUBSW) add two u8*s8 products into an int16, which saturates with full 8-bit weights: on the digits run
that cost 3.5 points of test score. 7-bit weights (reduce_range) cannot saturate there and lost nothing; int8
activations (S8S8) saturate the same way on such CPUs, and uint8 weights (U8U8) kept the score but were barely
faster than float (figures in BENCHMARKS.md). With VNNI the products are summed in 32 bits, so full 8-bit
weights are safe and more precise.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli import console, cpu, workspace
from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import Metrics
from aiaas_cli.serving.runtime import Feeds, OnnxModel, runner
from aiaas_cli.stages.onnx_file import embed_metadata, onnx_outputs

_CALIBRATION_BATCH = 16
_LATENCY_ROUNDS = 10  # float and int8 timed in alternating rounds, so a burst of load hits both
TARGET_CPUS = ("auto", "vnni", "avx2")  # auto: this machine; avx2: any x86 CPU without VNNI (the portable choice)


@dataclass(frozen=True)
class Settings:
    """What quantize_static is called with, and for which CPU."""

    target_cpu: str  # "vnni" or "avx2"
    per_channel: bool
    reduce_range: bool
    activation_type: str = "uint8"
    weight_type: str = "int8"


def target_cpu(choice: str, features: cpu.CpuFeatures) -> str:
    """The CPU class to quantize for: the configured one, or this machine's (no VNNI or unknown: avx2)."""
    if choice not in TARGET_CPUS:
        raise ConfigError(f"export.target_cpu must be one of {', '.join(TARGET_CPUS)}, got {choice!r}")
    if choice == "auto":
        return "vnni" if features.vnni else "avx2"
    return choice


def pick_settings(cfg: Any, features: cpu.CpuFeatures) -> Settings:
    """Settings for cfg.target_cpu; cfg.reduce_range null/auto picks by target, true/false forces."""
    target = target_cpu(str(cfg.get("target_cpu", "auto")), features)
    reduce_range = cfg.get("reduce_range")
    if reduce_range in (None, "auto"):
        reduce_range = target != "vnni"  # 7-bit weights where U8S8 would saturate
    elif not isinstance(reduce_range, bool):
        raise ConfigError(f"export.reduce_range must be null (auto), true or false, got {reduce_range!r}")
    return Settings(target, per_channel=bool(cfg.per_channel), reduce_range=reduce_range)


class _Batches:
    """ONNX Runtime's CalibrationDataReader protocol over feeds (ONNX input name -> numpy rows)."""

    def __init__(self, feeds: dict[str, np.ndarray]):
        rows = len(next(iter(feeds.values())))
        starts = range(0, rows, _CALIBRATION_BATCH)
        self.chunks = iter([{k: v[i : i + _CALIBRATION_BATCH] for k, v in feeds.items()} for i in starts])

    def get_next(self) -> dict | None:
        return next(self.chunks, None)


@contextmanager
def working_dir(path: str):
    """ONNX Runtime's quantizer saves a copy of a model with its weights as external data named <uuid>.data, relative
    to the working directory for some graphs (a Transformers encoder's): keep such files in our scratch folder."""
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def quantize_static(
    float_path: Path, out_path: Path, calibration: Feeds, settings: Any, ops: list | None = None
) -> None:
    """Static QDQ quantization with ``settings`` (a Settings, or any object with per_channel and reduce_range);
    ``ops``: the op types to quantize (the model's metadata "int8_op_types"; None: every one ONNX Runtime can)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quant_pre_process, quantize_static

    types = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
    float_path, out_path = Path(float_path).resolve(), Path(out_path).resolve()
    scratch = Path(workspace.scratch_dir()).resolve()
    with tempfile.TemporaryDirectory(prefix="aiaas-quant-", dir=scratch) as tmp, working_dir(tmp):
        prepared = Path(tmp) / "prepared.onnx"
        try:
            quant_pre_process(str(float_path), str(prepared))  # shape inference + folding, as ORT recommends
        except Exception:  # ORT's symbolic shape inference fails on some graphs (an LSTM's): plain ONNX inference
            quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out_path),
            _Batches(calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=bool(settings.per_channel),
            reduce_range=bool(settings.reduce_range),
            activation_type=types[getattr(settings, "activation_type", "uint8")],
            weight_type=types[getattr(settings, "weight_type", "int8")],
            **({"op_types_to_quantize": list(ops)} if ops else {}),
        )


def latency_ms(run: Callable[[np.ndarray], Any], sample: np.ndarray, runs: int, warmup: int = 5) -> float:
    """Median wall time of ``run(sample)`` in milliseconds."""
    return float(np.median(_timings(run, sample, runs, warmup)) * 1000.0)


def _timings(run: Callable[[np.ndarray], Any], sample: np.ndarray, runs: int, warmup: int = 0) -> list[float]:
    for _ in range(warmup):
        run(sample)
    times: list[float] = []
    for _ in range(max(runs, 1)):
        start = time.perf_counter()
        run(sample)
        times.append(time.perf_counter() - start)
    return times


def paired_latency_ms(first: Callable, second: Callable, sample: np.ndarray, runs: int) -> tuple[float, float]:
    """Median batch-1 milliseconds of two runners, timed in alternating rounds (order swapped every round)."""
    runners, times = (first, second), ([], [])
    for run in runners:
        _timings(run, sample, 5)  # warm-up, discarded
    for index in range(_LATENCY_ROUNDS):
        for side in (0, 1) if index % 2 == 0 else (1, 0):
            times[side].extend(_timings(runners[side], sample, max(runs // _LATENCY_ROUNDS, 1)))
    return float(np.median(times[0]) * 1000.0), float(np.median(times[1]) * 1000.0)


def refusals(drop_points: float, max_drop_points: float, latency_ratio: float, even_if_slower: bool) -> list[str]:
    """Why an int8 model is refused (empty: accepted): a drop above the budget, or slower than float uninsisted."""
    reasons = []
    if drop_points > max_drop_points:
        reasons.append("score")
    if latency_ratio > 1.0 and not even_if_slower:
        reasons.append("latency")
    return reasons


def score_loss(float_score: float, int8_score: float, metrics: Metrics) -> float:
    """How much worse int8 scores: points for a [0, 1] headline, percent of the float score on an open scale."""
    loss = float_score - int8_score if metrics.higher_is_better else int8_score - float_score
    if metrics.bounded:
        return round(loss * 100.0, 4)
    return round(loss / max(abs(float_score), 1e-12) * 100.0, 4)


def compare(float_path: Path, int8_path: Path, inputs, targets, score, cfg: Any, metrics: Metrics,
            adapter: Any = None) -> dict[str, Any]:  # fmt: skip
    """The gate's figures for both models, each run as served: ``adapter``'s loop when it has one (runtime.runner)."""
    float_model, int8_model = OnnxModel(float_path), OnnxModel(int8_path)
    float_run, int8_run = runner(float_model, adapter), runner(int8_model, adapter)
    if float_run == float_model.run:  # fed the graph's own inputs only
        inputs = {name: inputs[name] for name in float_model.input_names}
    float_score = float(score(onnx_outputs(float_run, inputs), targets))
    int8_score = float(score(onnx_outputs(int8_run, inputs), targets))
    one = {name: rows[:1] for name, rows in inputs.items()}
    float_ms, int8_ms = paired_latency_ms(float_run, int8_run, one, int(cfg.latency_runs))
    drop, ratio = score_loss(float_score, int8_score, metrics), round(int8_ms / max(float_ms, 1e-9), 4)
    even_if_slower = bool(cfg.get("int8_even_if_slower", False))
    refused = refusals(drop, float(cfg.max_score_drop), ratio, even_if_slower)
    return {
        "accepted": not refused,
        "refused_because": refused,
        "metric": metrics.headline,
        "float_score": float_score,
        "int8_score": int8_score,
        "drop_points": drop,
        "drop_unit": "points" if metrics.bounded else "percent",
        "max_drop_points": float(cfg.max_score_drop),
        "float_size_bytes": _size(float_model),
        "int8_size_bytes": _size(int8_model),
        "float_latency_ms": float_ms,
        "int8_latency_ms": int8_ms,
        "latency_ratio": ratio,  # int8 / float, batch-1 medians on this machine
        "int8_even_if_slower": even_if_slower,
        "samples": _rows(inputs),
    }


class Refused(Exception):
    """Leaves the atomic block so that a refused int8 model is never written."""


def warn_refused(report: dict[str, Any], cfg: Any) -> None:
    if "score" in report["refused_because"]:
        console.warn(
            f"int8 model refused: the test {report['metric']} worsens by {report['drop_points']:.2f} "
            f"{report['drop_unit']} "
            f"({report['float_score']:.4f} -> {report['int8_score']:.4f}), more than "
            f"export.max_score_drop={cfg.max_score_drop}; keeping the float model"
        )
    if "latency" in report["refused_because"]:
        console.warn(
            f"int8 model refused: it is slower than float on this CPU (batch-1 median {report['int8_latency_ms']:.3f} "
            f"vs {report['float_latency_ms']:.3f} ms, {report['latency_ratio']:.2f}x); keeping the float model "
            "(export.int8_even_if_slower=true keeps int8 anyway)"
        )


def int8(
    float_path: Path,
    meta: dict,
    calibration: Feeds,
    inputs: Feeds,
    targets: np.ndarray,
    score: Callable[[Feeds, np.ndarray], float],
    cfg: Any,
    *,
    metrics: Metrics = Metrics(names=("score",), headline="score"),
    features: cpu.CpuFeatures | None = None,
) -> dict[str, Any]:
    """Write model.int8.onnx next to ``float_path`` unless ``score`` (the recipe's headline, judged as ``metrics``
    says) worsens by more than cfg.max_score_drop points (percent on an open scale) or is slower than float
    (without cfg.int8_even_if_slower). ``features``: this CPU's (detected)."""
    features = features or cpu.detect()
    settings = pick_settings(cfg, features)
    quantization = {**asdict(settings), "cpu": features.summary()}
    target = float_path.with_name("model.int8.onnx")
    console.step(
        f"Quantizing to int8 (static QDQ, calibrated on {_rows(calibration)} training samples) for "
        f"target_cpu={settings.target_cpu}: {settings.activation_type} activations, {settings.weight_type} weights"
        f"{' in 7 bits' if settings.reduce_range else ''}{', per channel' if settings.per_channel else ''}; "
        f"measured on {features.describe()}"
    )
    if settings.target_cpu == "vnni" and not features.vnni:
        console.warn(
            "export.target_cpu=vnni, but this CPU has no VNNI: the int8 score and latency measured here "
            "are not the target's (U8S8 saturates here, so the score is pessimistic)"
        )
    report: dict[str, Any] = {}
    try:
        with workspace.atomic_file(target) as temp:
            quantize_static(float_path, temp, calibration, settings, meta.get("int8_op_types"))
            embed_metadata(temp, {**meta, "quantized": "int8", "quantization": quantization})
            report = compare(float_path, temp, inputs, targets, score, cfg, metrics)
            if not report["accepted"]:
                raise Refused
    except Refused:
        warn_refused(report, cfg)
    return finish(report, quantization, target, metrics)


def finish(report: dict[str, Any], quantization: dict, target: Path, metrics: Metrics) -> dict[str, Any]:
    """The report with its settings and the kept file (None when refused), said in one line."""
    report["quantization"] = quantization
    report["path"] = str(target) if report["accepted"] else None
    console.step(
        f"int8: {metrics.headline} {report['int8_score']:.4f} (float {report['float_score']:.4f}), "
        f"size {report['int8_size_bytes'] / 1e6:.2f} MB (float {report['float_size_bytes'] / 1e6:.2f} MB), "
        f"batch-1 latency {report['latency_ratio']:.2f}x float"
    )
    return report


def _size(model: OnnxModel) -> int:
    """Bytes of every file of the model (model.onnx and the graphs it names)."""
    return sum(path.stat().st_size for path in model.files())


def _rows(feeds: Feeds) -> int:
    return len(next(iter(feeds.values())))
