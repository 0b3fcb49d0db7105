"""`aiaas export`: model.onnx with metadata, parity with torch, the MLflow registry, int8, and its errors."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from aiaas_cli import workspace
from aiaas_cli.serving.runtime import OnnxModel


@pytest.fixture(scope="module")
def export_report(exported_run) -> dict:
    return workspace.read_json(workspace.run_dir(exported_run) / "export_report.json")


def test_export_writes_a_checked_model_with_metadata(export_report, exported_run):
    path = workspace.run_dir(exported_run) / "model.onnx"
    assert export_report["run_id"] == exported_run
    assert export_report["onnx_path"] == str(path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    meta = json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}["aiaas"])
    assert meta["recipe"] == "image-cls" and meta["opset"] == 18 and meta["run_id"] == exported_run
    assert not list(path.parent.glob(".model.onnx.tmp-*"))


def test_parity_with_torch_is_reported(export_report):
    parity = export_report["parity"]
    assert parity["max_abs_diff"] < 1e-4
    assert parity["top1_agreement"] == 1.0
    assert parity["samples"] >= 200  # the digits test split, capped at export.parity_samples


def test_export_logs_tags_and_registers_the_model(export_report, exported_run):
    from mlflow.tracking import MlflowClient

    run = MlflowClient().get_run(exported_run)
    assert run.data.tags["aiaas.onnx"] == export_report["onnx_path"]
    assert run.data.metrics["export_top1_agreement"] == 1.0
    artifacts = {a.path for a in MlflowClient().list_artifacts(exported_run, "export")}
    assert {"export/model.onnx", "export/export_report.json"} <= artifacts
    registered = export_report["registered_model"]
    assert registered["name"] == "aiaas-image-cls"
    version = MlflowClient().get_model_version(registered["name"], registered["version"])
    assert version.run_id == exported_run


def test_over_tolerance_fails_and_keeps_the_previous_model(cli, exported_run):
    path = workspace.run_dir(exported_run) / "model.onnx"
    before = path.read_bytes()
    result = cli("export", "image-cls", f"run={exported_run}", "export.tolerance=0", "export.register=false", expect=1)
    assert (
        "ONNX Runtime disagrees with the trained model" in result.stderr
        and "model.onnx was not written" in result.stderr
    )
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()[-1]) > 0
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".model.onnx.tmp-*"))


def test_run_without_checkpoint_is_a_clear_error(cli, trained_run):
    run_id = cli.json("preprocess", "image-cls")["run_id"]
    result = cli.json("export", "image-cls", f"run={run_id}", expect=1)
    assert result == {"error": result["error"], "exit_code": 1}
    assert f"run '{run_id}' has no checkpoint" in result["error"]


@pytest.mark.parametrize("override", ["export.exporter=onnxmltools", "export.quantize=int4"])
def test_bad_export_settings_exit_2(cli, exported_run, override):
    result = cli("export", "image-cls", f"run={exported_run}", override, expect=2)
    assert override.split("=")[0] in result.stderr


def test_torchscript_exporter_also_matches_torch(cli, exported_run):
    result = cli.json(
        "export", "image-cls", f"run={exported_run}", "export.exporter=torchscript", "export.register=false"
    )
    assert result["parity"]["max_abs_diff"] < 1e-4 and result["parity"]["top1_agreement"] == 1.0
    assert OnnxModel(result["onnx_path"]).metadata["exporter"] == "torchscript"


def test_int8_quantization_is_smaller_and_keeps_accuracy(cli, exported_run):
    try:
        result = cli.json("export", "image-cls", f"run={exported_run}", "export.quantize=int8", "export.register=false")
        report = result["quantized"]
        assert report["accepted"] and result["onnx_path"] == report["path"]
        assert report["path"].endswith("model.int8.onnx")
        assert report["int8_size_bytes"] < report["float_size_bytes"] / 2
        assert report["accuracy_drop_points"] <= 1.0 and report["int8_accuracy"] >= 0.9
        assert report["float_latency_ms"] > 0 and report["int8_latency_ms"] > 0
        model = OnnxModel(report["path"])
        assert model.metadata["quantized"] == "int8"
        assert {n.op_type for n in onnx.load(report["path"]).graph.node} >= {"QuantizeLinear", "DequantizeLinear"}
        assert model.run(np.zeros((3, 3, 32, 32), np.float32)).shape == (3, 10)
    finally:  # the other tests share this run: serve its float model again
        cli.json("export", "image-cls", f"run={exported_run}", "export.register=false")


def test_int8_is_refused_when_accuracy_drops_too_much(cli, exported_run):
    args = ("export.quantize=int8", "export.max_accuracy_drop=-100", "export.register=false")
    result = cli("export", "image-cls", f"run={exported_run}", *args, "--json")
    payload = json.loads(result.stdout)
    assert payload["quantized"]["accepted"] is False and payload["quantized"]["path"] is None
    assert payload["onnx_path"].endswith("/model.onnx")
    assert "int8 model refused" in result.stderr and "keeping the float model" in result.stderr


def test_fixed_batch_export_still_runs_any_batch(cli, exported_run):
    try:
        result = cli.json(
            "export", "image-cls", f"run={exported_run}", "export.dynamic_batch=false", "export.register=false"
        )
        model = OnnxModel(result["onnx_path"])
        assert model.session.get_inputs()[0].shape == [1, 3, 32, 32] and model.fixed_batch == 1
        assert result["parity"]["top1_agreement"] == 1.0
        batch = np.random.default_rng(0).standard_normal((5, 3, 32, 32), dtype=np.float32)
        one_by_one = np.concatenate([model.run(batch[i : i + 1]) for i in range(5)])
        np.testing.assert_allclose(model.run(batch), one_by_one, rtol=0, atol=1e-6)
    finally:  # the other tests share this run: serve its dynamic-batch model again
        cli.json("export", "image-cls", f"run={exported_run}", "export.register=false")
