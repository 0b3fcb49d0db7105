"""int8 for a model served through its adapter's loop and made of two graphs: seq2seq's smoke model (an encoder and a
decoder step driven by the adapter's greedy loop), quantized dynamically, judged through the loop, served from the
int8 files by predict and packaged from them."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from aiaas_cli import artifacts, recipes, workspace
from aiaas_cli.serving.runtime import OnnxModel, Predictor
from aiaas_cli.stages.bento_model import model_files

QUICK = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.early_stopping.enabled=false",
    "export.register=false",
    "export.parity_samples=32",
    "export.latency_runs=10",
]
INT8 = ["export.quantize=int8", "export.int8_even_if_slower=true"]  # a tiny model is not faster in int8


@pytest.fixture(scope="module")
def run(cli, tmp_path_factory) -> tuple[str, list[str]]:
    overrides = recipes.load("seq2seq").smoke_overrides(tmp_path_factory.mktemp("int8loop"))
    return cli.json("train", "seq2seq", *overrides, *QUICK)["run_id"], overrides


def test_a_looped_model_of_two_graphs_is_quantized_dynamically(cli, run):
    run_id, overrides = run
    exported = cli.json("export", "seq2seq", f"run={run_id}", *overrides, *QUICK, *INT8, "export.max_score_drop=100")
    report = exported["quantized"]
    assert report["accepted"] and report["quantization"]["method"] == "dynamic"
    assert report["metric"] == "bleu" and report["samples"] == 5  # the tiny data's test split
    assert report["drop_points"] == pytest.approx((report["float_score"] - report["int8_score"]) * 100, abs=1e-3)
    path = Path(exported["onnx_path"])
    assert path.name == "model.int8.onnx" and report["graph_files"] == ["decoder.int8.onnx"]
    model = OnnxModel(path)  # the int8 model.onnx names the int8 decoder, so both load and serve as a pair
    assert model.metadata["graphs"] == {"decoder": "decoder.int8.onnx"} and model.metadata["quantized"] == "int8"
    ops = {node.op_type for file in model.files() for node in onnx.load(str(file)).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops
    assert report["int8_size_bytes"] == sum(f.stat().st_size for f in model.files())  # both graphs (a width-16 model
    # grows in int8: its scales and quantize nodes outweigh the bytes its weights save)
    assert set(model_files(path, model.metadata)) == {"model.onnx", "decoder.int8.onnx"}  # what the Bento stores

    dataset = artifacts.dataset_of(run_id)
    samples = recipes.load("seq2seq").sample_inputs(dataset.dir, dataset.manifest, limit=2)
    predictions = Predictor(path).predict([payload for _, payload in samples], k=1)
    assert len(predictions) == 2 and all(isinstance(p, dict) for p in predictions)


def test_a_refused_int8_model_writes_no_int8_file(cli, run):
    run_id, overrides = run
    folder = workspace.run_dir(run_id)
    for file in folder.glob("*.int8.onnx"):
        file.unlink()  # an earlier test's accepted files
    strict = [*INT8, "export.max_score_drop=-1000"]  # no int8 model can hold it
    exported = cli.json("export", "seq2seq", f"run={run_id}", *overrides, *QUICK, *strict)
    assert exported["quantized"]["refused_because"] == ["score"] and exported["quantized"]["path"] is None
    assert Path(exported["onnx_path"]).name == "model.onnx" and not list(folder.glob("*.int8.onnx"))
