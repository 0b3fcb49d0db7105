"""`aiaas pipeline image-cls model=timm model.name=<arch> model.file=<weights>` through every stage, int8 included;
the Bento answers what local predict answers, decoding with the model's recorded interpolation and crop.

The weights are a tiny timm model's, written by the test (no internet here: timm's download is not exercised)."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from conftest import Server
from imagefiles import write_broken, write_dataset
from timmfiles import ARCH, write_weights

pytestmark = pytest.mark.slow

QUICK = ["trainer.max_epochs=2", "trainer.threads=1", "trainer.early_stopping.enabled=false", "export.register=false"]
INT8 = ["export.quantize=int8", "export.int8_even_if_slower=true", "export.max_score_drop=100"]  # random weights


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("timm-run") / "photos", {"ant": 10, "bee": 10, "cat": 10})


@pytest.fixture(scope="module")
def run(cli, photos, tmp_path_factory):
    weights = write_weights(tmp_path_factory.mktemp("timm-weights") / "tiny.pth")
    overrides = ["model=timm", f"model.name={ARCH}", f"model.file={weights}", "model.input_size=32"]
    return cli.json("pipeline", "image-cls", f"data.root={photos}", *overrides, *QUICK, *INT8)


@pytest.fixture(scope="module")
def server(run, tmp_path_factory):
    running = Server(run["bento_tag"], tmp_path_factory.mktemp("serve-timm") / "server.log").wait_ready()
    yield running
    running.stop()


def test_every_stage_runs_with_the_models_preprocessing_in_the_onnx_file(run, cli):
    assert run["image_size"] == 32 and set(run["metrics"]["per_class"]) == {"ant", "bee", "cat"}
    assert run["parity"]["top1_agreement"] == 1.0
    assert run["quantized"]["accepted"] and run["onnx_path"].endswith("model.int8.onnx")
    for path in (run["onnx_path"], str(Path(run["onnx_path"]).with_name("model.onnx"))):
        model = onnx.load(path, load_external_data=False)
        metadata = json.loads({p.key: p.value for p in model.metadata_props}["aiaas"])
        assert (metadata["input_size"], metadata["interpolation"], metadata["crop_pct"]) == (32, "bicubic", 0.95)
        assert metadata["model"] == f"timm:{ARCH}" and metadata["mean"] == [0.485, 0.456, 0.406]
        assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # a symbolic batch axis
    source = {row["run_id"]: row for row in cli.json("runs")["runs"]}[run["run_id"]]["source"]
    assert source["kind"] == "timm" and source["name"].endswith("tiny.pth") and len(source["sha256"]) == 64


def _predict(cli, inputs: Path, *source: str) -> dict[str, dict]:
    out = inputs.parent / f"out-{source[0].strip('-')}.jsonl"
    cli("predict", "image-cls", str(inputs), *source, "-o", str(out))
    return {Path(row["input"]).name: row for row in map(json.loads, out.read_text().splitlines())}


def test_served_answers_equal_local_predict(run, server, cli, tmp_path):
    inputs = write_dataset(tmp_path / "inputs", {"mixed": 10}, seed=5) / "mixed"  # formats, sizes, aspect ratios
    broken = write_broken(inputs)
    local = _predict(cli, inputs, "--model", run["onnx_path"])
    served = _predict(cli, inputs, "--url", server.url)
    assert local.keys() == served.keys() and len(local) == 10 + len(broken)
    for name, row in local.items():
        if "error" in row:
            assert "error" in served[name], name
        else:
            assert served[name]["label"] == row["label"], name
            assert served[name]["score"] == pytest.approx(row["score"], abs=1e-6), name
