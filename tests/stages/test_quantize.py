"""int8 quantization without training: CPU detection, settings per target, the acceptance rule, a tiny model."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import onnx
import pytest
from omegaconf import OmegaConf

from aiaas_cli import cpu
from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import Metrics
from aiaas_cli.stages import quantize

ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7763 64-Core Processor
flags\t\t: fpu sse sse2 avx avx2 fma bmi2 sha_ni vaes

processor\t: 1
model name\t: AMD EPYC 7763 64-Core Processor
flags\t\t: fpu sse sse2 avx avx2 fma bmi2 sha_ni vaes
"""
CASCADE_LAKE = "model name\t: Intel(R) Xeon(R) Gold 6248\nflags\t\t: avx avx2 avx512f avx512bw avx512_vnni\n"
ALDER_LAKE = "model name\t: 12th Gen Intel(R) Core(TM) i7-12700\nflags\t\t: avx avx2 avx_vnni\n"
GRAVITON = "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd aes crc32 atomics asimddp\n"


def features(text: str) -> cpu.CpuFeatures:
    return cpu.parse_cpuinfo(text, "fake cpuinfo")


def export_cfg(**overrides) -> dict:
    base = {"target_cpu": "auto", "per_channel": True, "reduce_range": None, "max_score_drop": 1.0}
    return OmegaConf.create({**base, "latency_runs": 10, "int8_even_if_slower": False, **overrides})


@pytest.mark.parametrize(
    ("text", "model", "avx2", "avx512", "vnni"),
    [
        (ZEN3, "AMD EPYC 7763 64-Core Processor", True, False, False),
        (CASCADE_LAKE, "Intel(R) Xeon(R) Gold 6248", True, True, True),
        (ALDER_LAKE, "12th Gen Intel(R) Core(TM) i7-12700", True, False, True),
        (GRAVITON, None, False, False, False),
    ],
)
def test_cpuinfo_flags_say_vnni_and_avx512(text, model, avx2, avx512, vnni):
    found = features(text)
    assert found.known and (found.avx2, found.avx512, found.vnni) == (avx2, avx512, vnni)
    assert model is None or found.model == model
    assert json.loads(json.dumps(found.summary()))["vnni"] is vnni


def test_unreadable_or_flagless_cpuinfo_is_unknown(tmp_path):
    for found in (cpu.detect(tmp_path / "missing"), features("processor\t: 0\n")):
        assert not found.known and found.vnni is None and found.avx512 is None
        assert "unknown" in found.describe() and found.summary()["vnni"] is None


def test_this_machine_is_detected_consistently():
    found = cpu.detect()
    assert found.vnni in (True, False, None) and found.describe().startswith(found.model)


@pytest.mark.parametrize(
    ("text", "choice", "target", "reduce_range"),
    [
        (ZEN3, "auto", "avx2", True),
        (CASCADE_LAKE, "auto", "vnni", False),
        (ALDER_LAKE, "auto", "vnni", False),
        ("", "auto", "avx2", True),  # unknown CPU: the portable settings
        (CASCADE_LAKE, "avx2", "avx2", True),  # serving on another machine than the export's
        (ZEN3, "vnni", "vnni", False),
    ],
)
def test_settings_follow_the_target_cpu(text, choice, target, reduce_range):
    settings = quantize.pick_settings(export_cfg(target_cpu=choice), features(text))
    assert (settings.target_cpu, settings.reduce_range) == (target, reduce_range)
    assert (settings.activation_type, settings.weight_type, settings.per_channel) == ("uint8", "int8", True)


@pytest.mark.parametrize("forced", [True, False])
def test_reduce_range_and_per_channel_overrides_win(forced):
    for text in (ZEN3, CASCADE_LAKE):
        settings = quantize.pick_settings(export_cfg(reduce_range=forced, per_channel=not forced), features(text))
        assert settings.reduce_range is forced and settings.per_channel is not forced
    assert quantize.pick_settings(export_cfg(reduce_range="auto"), features(ZEN3)).reduce_range is True


@pytest.mark.parametrize(("key", "value"), [("target_cpu", "arm"), ("reduce_range", "sometimes")])
def test_bad_int8_settings_are_config_errors(key, value):
    with pytest.raises(ConfigError, match=f"export.{key}") as caught:
        quantize.pick_settings(export_cfg(**{key: value}), features(ZEN3))
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("drop", "ratio", "insist"), itertools.product((-0.5, 0.0, 1.0, 1.01, 3.5), (0.5, 1.0, 1.15), (False, True))
)
def test_acceptance_rule(drop, ratio, insist):
    reasons = quantize.refusals(drop, 1.0, ratio, insist)
    assert (not reasons) == (drop <= 1.0 and (ratio <= 1.0 or insist))
    assert ("score" in reasons) == (drop > 1.0) and ("latency" in reasons) == (ratio > 1.0 and not insist)


def test_paired_latency_tells_the_slower_runner():
    calls = {"fast": 0, "slow": 0}

    def fast(x):
        calls["fast"] += 1

    def slow(x):
        calls["slow"] += 1
        time.sleep(0.002)

    fast_ms, slow_ms = quantize.paired_latency_ms(fast, slow, np.zeros(1), runs=20)
    assert 0 <= fast_ms < slow_ms and slow_ms >= 2.0
    assert calls["fast"] == calls["slow"] == 25  # 5 warm-up + 20 timed each


META = {"input_names": ["x"], "output_names": ["y"]}  # what export.metadata() gives int8()


def tiny_model(path, rng) -> None:
    """x (N, 16) -> MatMul -> Add -> y (N, 4), with the "aiaas" metadata an exported model carries."""
    weight = onnx.numpy_helper.from_array(rng.standard_normal((16, 4)).astype(np.float32), "w")
    bias = onnx.numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b")
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMul", ["x", "w"], ["h"]), onnx.helper.make_node("Add", ["h", "b"], ["y"])],
        "tiny",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 16])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 4])],
        [weight, bias],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.helper.set_model_props(model, {"aiaas": json.dumps(META)})
    onnx.save(model, str(path))


def agreement(outputs, labels) -> float:
    return float((np.asarray(outputs["y"]).argmax(-1) == labels).mean())


@pytest.fixture()
def tiny(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "model.onnx"
    tiny_model(path, rng)
    inputs = {"x": rng.standard_normal((64, 16)).astype(np.float32)}
    from aiaas_cli.serving.runtime import OnnxModel

    labels = OnnxModel(path).run(inputs)["y"].argmax(-1)
    return path, inputs, labels


@pytest.mark.parametrize(("latency", "insist"), [((1.0, 2.0), False), ((1.0, 2.0), True), ((2.0, 1.0), False)])
def test_int8_refuses_a_slower_model_unless_insisted(tiny, monkeypatch, capsys, latency, insist):
    path, inputs, labels = tiny
    monkeypatch.setattr(quantize, "paired_latency_ms", lambda *args: latency)
    cfg = export_cfg(max_score_drop=100.0, int8_even_if_slower=insist)
    report = quantize.int8(
        path, META, inputs, inputs, labels, agreement, cfg, metrics=AGREEMENT, features=features(ZEN3)
    )
    slower = latency[1] > latency[0]
    assert report["accepted"] is (not slower or insist) and report["latency_ratio"] == latency[1] / latency[0]
    assert report["metric"] == "agreement" and report["refused_because"] == (
        ["latency"] if slower and not insist else []
    )
    written = path.with_name("model.int8.onnx")
    assert written.exists() is report["accepted"] and report["path"] == (str(written) if report["accepted"] else None)
    assert ("slower than float" in capsys.readouterr().err) is (slower and not insist)
    if report["accepted"]:
        meta = json.loads({p.key: p.value for p in onnx.load(str(written)).metadata_props}["aiaas"])
        assert meta["quantized"] == "int8" and meta["quantization"] == report["quantization"]
        assert meta["quantization"]["cpu"]["model"] == "AMD EPYC 7763 64-Core Processor"
        assert meta["quantization"]["reduce_range"] is True and meta["quantization"]["target_cpu"] == "avx2"
        assert {n.op_type for n in onnx.load(str(written)).graph.node} >= {"QuantizeLinear", "DequantizeLinear"}


AGREEMENT = Metrics(names=("agreement",), headline="agreement")


@pytest.mark.parametrize(
    ("higher_is_better", "bounded", "float_score", "int8_score", "loss"),
    [
        (True, True, 0.98, 0.97, 1.0),  # accuracy: one point lost
        (True, True, 0.97, 0.98, -1.0),  # a gain is a negative loss
        (False, False, 0.34, 0.357, 5.0),  # MASE: 5% worse, although the number went up
        (False, False, 0.34, 0.323, -5.0),
        (False, True, 0.10, 0.12, 2.0),  # a [0, 1] error rate (WER): two points worse
    ],
)
def test_int8_loss_follows_the_recipes_direction_and_scale(higher_is_better, bounded, float_score, int8_score, loss):
    metrics = Metrics(names=("m",), headline="m", higher_is_better=higher_is_better, bounded=bounded)
    assert quantize.score_loss(float_score, int8_score, metrics) == pytest.approx(loss, abs=1e-3)


def test_int8_report_figures_agree(tiny):
    path, inputs, labels = tiny
    report = quantize.int8(path, META, inputs, inputs, labels, agreement, export_cfg(max_score_drop=-100.0))
    assert report["accepted"] is False and report["path"] is None and "score" in report["refused_because"]
    assert report["drop_points"] == round((report["float_score"] - report["int8_score"]) * 100, 4)
    assert report["latency_ratio"] == pytest.approx(report["int8_latency_ms"] / report["float_latency_ms"], rel=1e-3)
    assert report["metric"] == "score" and report["max_drop_points"] == -100.0
    assert report["quantization"]["cpu"] == cpu.detect().summary()
    assert not path.with_name("model.int8.onnx").exists()
