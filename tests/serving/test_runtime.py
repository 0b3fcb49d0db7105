"""The torch-free runtime: ONNX Runtime session, metadata, the image-cls adapter, and parity with torch."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from aiaas_cli import workspace
from aiaas_cli.errors import UserError
from aiaas_cli.serving.runtime import BadInput, OnnxModel, Predictor, load_adapter


@pytest.fixture(scope="module")
def model_path(exported_run) -> Path:
    return workspace.run_dir(exported_run) / "model.onnx"


def png_bytes(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 128).save(buffer, "PNG")
    return buffer.getvalue()


def test_metadata_describes_the_model(model_path, exported_run):
    model = OnnxModel(model_path, threads=1)
    meta = model.metadata
    assert meta["recipe"] == "image-cls"
    assert meta["labels"] == [str(i) for i in range(10)]
    assert meta["input_size"] == 32 and len(meta["mean"]) == len(meta["std"]) == 3
    assert meta["run_id"] == exported_run
    assert meta["serving_module"] == "aiaas_recipes.image_cls.serving"
    assert (meta["input_names"], meta["output_names"]) == (["image"], ["logits"])
    assert model.session.get_inputs()[0].shape[0] == "batch"  # dynamic batch axis
    for n in (1, 7):
        assert model.run({"image": np.zeros((n, 3, 32, 32), np.float32)})["logits"].shape == (n, 10)


def test_onnx_predictions_equal_torch_predictions(model_path, held_out_images):
    import torch

    from aiaas_cli import artifacts, recipes
    from aiaas_cli.serving.runtime import load_adapter

    recipe = recipes.load("image-cls")
    model = OnnxModel(model_path)
    network, _ = recipe.load_model(artifacts.trained_of(model.metadata["run_id"]).checkpoint)
    adapter = load_adapter(model.metadata)
    images = held_out_images[:64]
    batch = adapter.batch([adapter.decode(path.read_bytes()) for path, _ in images])
    with torch.inference_mode():
        expected = network(torch.from_numpy(batch["image"])).numpy()
    actual = model.run(batch)["logits"]
    assert np.abs(expected - actual).max() < 1e-4
    assert (expected.argmax(-1) == actual.argmax(-1)).all()
    answers = Predictor(model_path).predict([p.read_bytes() for p, _ in images], k=3)
    predicted = [answer["predictions"][0]["label"] for answer in answers]
    assert predicted == [model.metadata["labels"][i] for i in expected.argmax(-1)]
    assert np.mean([p == label for p, (_, label) in zip(predicted, images)]) >= 0.9


def test_predict_returns_sorted_top_k(model_path, held_out_images):
    answers = Predictor(model_path).predict([held_out_images[0][0].read_bytes()], k=3)
    assert len(answers) == 1 and len(answers[0]["predictions"]) == 3
    scores = [entry["score"] for entry in answers[0]["predictions"]]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0 + 1e-6
    capped = Predictor(model_path).predict([png_bytes()], k=50)[0]["predictions"]
    assert len(capped) == 10  # k is capped at the label count


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty file"),
        (b"hello, not an image", "not an image"),
        (png_bytes()[:30], "image"),  # a truncated PNG
        ("a string", "expected image bytes"),
    ],
)
def test_bad_input_says_why(model_path, payload, message):
    with pytest.raises(BadInput, match=message):
        Predictor(model_path).predict([png_bytes(), payload])


def test_max_pixels_is_configurable(model_path):
    small = Predictor(model_path, limits={"max_pixels": 100})
    assert small.adapter.max_pixels == 100
    with pytest.raises(BadInput, match="above the limit of 100"):
        small.predict([png_bytes((20, 20))])
    assert len(small.predict([png_bytes((10, 10))])) == 1


def test_model_errors_are_one_line(tmp_path, model_path):
    with pytest.raises(UserError, match="does not exist"):
        OnnxModel(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(UserError, match="cannot load ONNX model"):
        OnnxModel(tmp_path / "junk.onnx")
    plain = onnx.load(str(model_path))
    del plain.metadata_props[:]
    onnx.save(plain, str(tmp_path / "plain.onnx"))
    with pytest.raises(UserError, match="not an aiaas model"):
        OnnxModel(tmp_path / "plain.onnx")
    with pytest.raises(UserError, match="serving_module"):
        load_adapter({"labels": ["a"]})
    with pytest.raises(UserError, match="cannot import serving module"):
        load_adapter({"serving_module": "aiaas_recipes.no_such_module"})


def test_runtime_and_serving_module_do_not_import_torch(model_path, held_out_images):
    code = (
        "import sys, pathlib\n"
        "from aiaas_cli.serving.runtime import Predictor\n"
        "import aiaas_recipes.image_cls.serving\n"
        f"top = Predictor({str(model_path)!r}).predict([pathlib.Path({str(held_out_images[0][0])!r}).read_bytes()])\n"
        "assert top[0]['predictions'][0]['label']\n"
        "heavy = [m for m in ('torch', 'torchvision', 'pytorch_lightning', 'lightning') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
