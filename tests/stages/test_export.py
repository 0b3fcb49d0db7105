"""`aiaas export`: model.onnx with metadata, parity with torch, the MLflow registry, int8, and its errors."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from conftest import FAST_TRAIN

from aiaas_cli import cpu, workspace
from aiaas_cli.serving.runtime import OnnxModel
from aiaas_cli.stages import quantize


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


def test_export_logs_tags_and_registers_the_model(export_report, exported_run, session_home):
    from mlflow.tracking import MlflowClient

    # MLflow's tracking URI is process-global and the last in-process command (maybe one on a fresh_home) set it.
    client = MlflowClient(f"sqlite:///{session_home / 'mlflow.db'}")
    run = client.get_run(exported_run)
    assert run.data.tags["aiaas.onnx"] == export_report["onnx_path"]
    assert run.data.metrics["export_top1_agreement"] == 1.0
    artifacts = {a.path for a in client.list_artifacts(exported_run, "export")}
    assert {"export/model.onnx", "export/export_report.json"} <= artifacts
    registered = export_report["registered_model"]
    assert registered["name"] == "aiaas-image-cls"
    version = client.get_model_version(registered["name"], registered["version"])
    assert version.run_id == exported_run


def test_failed_gate_keeps_the_run_and_says_how_to_export_again(cli, exported_run, session_home, monkeypatch):
    """ONNX answers that differ (ten test images get another class) fail the gate in the task's words; the run, its
    checkpoint and its earlier model.onnx stay, and the hint's command exports again without retraining."""
    from mlflow.tracking import MlflowClient

    path = workspace.run_dir(exported_run) / "model.onnx"
    before, checkpoints = path.read_bytes(), sorted(workspace.run_dir(exported_run).rglob("*.ckpt"))
    flip_ten_answers(monkeypatch)
    result = cli("export", "image-cls", f"run={exported_run}", "export.register=false", expect=1)
    assert (
        "ONNX Runtime disagrees with the trained model" in result.stderr
        and "model.onnx was not written" in result.stderr
    )
    assert "top1 agreement" in result.stderr and "below export.min_agreement=0.99; worst: sample " in result.stderr
    assert f"aiaas export image-cls run={exported_run} export.exporter=torchscript" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()[-1]) > 0
    assert path.read_bytes() == before and checkpoints and sorted(path.parent.rglob("*.ckpt")) == checkpoints
    assert not list(path.parent.glob(".model.onnx.tmp-*"))
    run = MlflowClient(f"sqlite:///{session_home / 'mlflow.db'}").get_run(exported_run)
    assert run.info.status == "FINISHED" and run.data.tags["aiaas.stage.export"] == "failed"
    monkeypatch.undo()
    again = cli.json("export", "image-cls", f"run={exported_run}", "export.register=false")
    assert again["parity"]["top1_agreement"] == 1.0


def flip_ten_answers(monkeypatch) -> None:
    """ONNX Runtime's logits of the first ten test images rolled by one class: ten answers change."""
    from aiaas_cli.stages import export as export_stage

    run_exported = export_stage._run_exported

    def other_answers(path, inputs, allowed=None):
        outputs = run_exported(path, inputs, allowed)
        outputs["logits"][:10] = np.roll(outputs["logits"][:10], 1, axis=1)
        return outputs

    monkeypatch.setattr(export_stage, "_run_exported", other_answers)


@pytest.mark.slow
def test_pipeline_failed_at_export_keeps_the_trained_run(cli, session_home, monkeypatch):
    """The whole pipeline fails at the gate: the run (FAILED, its export stage marked) keeps its checkpoint and
    evaluation, and the command in the hint exports it without training again."""
    import re

    from mlflow.tracking import MlflowClient

    flip_ten_answers(monkeypatch)
    result = cli("pipeline", "image-cls", *FAST_TRAIN, "export.register=false", expect=1)
    run_id = re.search(r"aiaas export image-cls run=(\w+)", result.stderr).group(1)
    run = MlflowClient(f"sqlite:///{session_home / 'mlflow.db'}").get_run(run_id)
    assert run.info.status == "FAILED" and run.data.tags["aiaas.stage.pipeline"] == "failed"
    assert "test_accuracy" in run.data.metrics  # the evaluation before export stays recorded
    assert list(workspace.run_dir(run_id).rglob("*.ckpt")) and not (workspace.run_dir(run_id) / "model.onnx").exists()
    monkeypatch.undo()
    again = cli.json("export", "image-cls", f"run={run_id}", "export.register=false")
    assert again["parity"]["top1_agreement"] == 1.0 and (workspace.run_dir(run_id) / "model.onnx").exists()


def test_raw_difference_is_reported_not_judged(cli, exported_run):
    """export.tolerance judges values (regression, forecasts), not a classifier's logits: 0 still exports."""
    result = cli.json("export", "image-cls", f"run={exported_run}", "export.tolerance=0", "export.register=false")
    assert result["parity"]["top1_agreement"] == 1.0 and result["parity"]["max_abs_diff"] < 1e-4


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


def assert_int8_report_agrees(report: dict) -> None:
    """The int8 report's figures are consistent with each other and with the acceptance rule, on any CPU."""
    assert report["drop_points"] == round((report["float_score"] - report["int8_score"]) * 100, 4)
    assert report["latency_ratio"] == pytest.approx(report["int8_latency_ms"] / report["float_latency_ms"], rel=1e-3)
    assert report["float_latency_ms"] > 0 and report["int8_latency_ms"] > 0 and report["samples"] >= 200
    rule = quantize.refusals(
        report["drop_points"], report["max_drop_points"], report["latency_ratio"], report["int8_even_if_slower"]
    )
    assert report["refused_because"] == rule and report["accepted"] is (not rule)
    assert (report["path"] is not None) is report["accepted"]
    assert report["int8_size_bytes"] < report["float_size_bytes"] / 2


def int8_export(cli, run_id: str, *overrides: str) -> tuple[dict, str]:
    result = cli("export", "image-cls", f"run={run_id}", "export.quantize=int8", "export.register=false", *overrides,
                 "--json")  # fmt: skip
    return json.loads(result.stdout), result.stderr


def test_int8_portable_settings_keep_the_score(cli, exported_run):
    """target_cpu=avx2 (no VNNI) settings hold on any CPU; insisting on int8 so that the file is always written."""
    try:
        payload, _ = int8_export(cli, exported_run, "export.target_cpu=avx2", "export.int8_even_if_slower=true")
        report = payload["quantized"]
        assert_int8_report_agrees(report)
        assert report["accepted"] and payload["onnx_path"] == report["path"]
        assert report["path"].endswith("model.int8.onnx")
        assert report["drop_points"] <= 1.0 and report["int8_score"] >= 0.9
        settings = report["quantization"]
        assert settings["target_cpu"] == "avx2" and settings["reduce_range"] is True and settings["per_channel"] is True
        assert (settings["activation_type"], settings["weight_type"]) == ("uint8", "int8")
        assert settings["cpu"] == cpu.detect().summary()
        model = OnnxModel(report["path"])
        assert model.metadata["quantized"] == "int8" and model.metadata["quantization"] == settings
        assert {n.op_type for n in onnx.load(report["path"]).graph.node} >= {"QuantizeLinear", "DequantizeLinear"}
        assert model.run({"image": np.zeros((3, 3, 32, 32), np.float32)})["logits"].shape == (3, 10)
    finally:  # the other tests share this run: serve its float model again
        cli.json("export", "image-cls", f"run={exported_run}", "export.register=false")


def test_int8_settings_follow_this_cpu(cli, exported_run):
    """The default (target_cpu=auto): accepted or refused depending on this CPU, and the report says why."""
    try:
        payload, stderr = int8_export(cli, exported_run)
        report = payload["quantized"]
        assert_int8_report_agrees(report)
        here = cpu.detect()
        assert report["quantization"]["target_cpu"] == ("vnni" if here.vnni else "avx2")
        assert report["quantization"]["reduce_range"] is (not here.vnni)
        assert payload["onnx_path"] == (report["path"] if report["accepted"] else payload["float_onnx_path"])
        assert ("slower than float on this CPU" in stderr) is ("latency" in report["refused_because"])
        assert ("keeping the float model" in stderr) is (not report["accepted"])
    finally:
        cli.json("export", "image-cls", f"run={exported_run}", "export.register=false")


def test_int8_is_refused_when_the_score_drops_too_much(cli, exported_run):
    payload, stderr = int8_export(cli, exported_run, "export.max_score_drop=-100")
    assert payload["quantized"]["accepted"] is False and payload["quantized"]["path"] is None
    assert "score" in payload["quantized"]["refused_because"]
    assert payload["onnx_path"].endswith("/model.onnx")
    assert payload["quantized"]["metric"] == "accuracy"  # the recipe's headline metric
    assert (
        "int8 model refused: the test accuracy worsens by" in stderr
        and "points" in stderr
        and "keeping the float model" in stderr
    )


def test_fixed_batch_export_still_runs_any_batch(cli, exported_run):
    try:
        result = cli.json(
            "export", "image-cls", f"run={exported_run}", "export.dynamic_batch=false", "export.register=false"
        )
        model = OnnxModel(result["onnx_path"])
        assert model.session.get_inputs()[0].shape == [1, 3, 32, 32] and model.fixed_batch == 1
        assert result["parity"]["top1_agreement"] == 1.0
        batch = np.random.default_rng(0).standard_normal((5, 3, 32, 32), dtype=np.float32)
        one_by_one = np.concatenate([model.run({"image": batch[i : i + 1]})["logits"] for i in range(5)])
        np.testing.assert_allclose(model.run({"image": batch})["logits"], one_by_one, rtol=0, atol=1e-6)
    finally:  # the other tests share this run: serve its dynamic-batch model again
        cli.json("export", "image-cls", f"run={exported_run}", "export.register=false")


def test_a_graph_onnx_runtime_cannot_run_is_one_line(tmp_path):
    """An exporter can fix an axis to the example's size: the parity run fails inside ONNX Runtime."""
    from onnx import TensorProto, helper

    from aiaas_cli.errors import UserError
    from aiaas_cli.stages import export

    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [2, 4])
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        "fixed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        initializer=[shape],
    )
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    export.embed_metadata(path, {"recipe": "image-cls", "input_names": ["x"], "output_names": ["y"]})
    with pytest.raises(UserError) as caught:
        export._run_exported(path, {"x": np.zeros((3, 4), np.float32)})
    line = caught.value.one_line()
    assert line.startswith("ONNX Runtime cannot run the exported model: ") and "\n" not in line
    assert "export.exporter=torchscript" in line
