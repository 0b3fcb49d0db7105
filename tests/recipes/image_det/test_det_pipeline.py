"""image-det end to end: a YOLO folder with every kind of data problem through every stage to a served Bento;
the service answers the same detections as local `predict`, in the image's own pixels, with request options."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import requests
from conftest import Server
from PIL import Image
from schemafuzz import assert_no_5xx

from aiaas_cli.serving.runtime import Predictor
from aiaas_recipes.image_det import shapes

pytestmark = pytest.mark.slow

QUICK = ["trainer.max_epochs=8", "trainer.threads=1", "trainer.early_stopping.enabled=false", "export.register=false"]


@pytest.fixture(scope="module")
def data_yaml(tmp_path_factory) -> Path:
    path = shapes.write_yolo(tmp_path_factory.mktemp("det-yolo"), splits={"train": 240, "val": 40, "test": 40})
    root = path.parent
    (root / "images" / "train" / "0000.png").write_bytes(b"\x89PNG\r\n\x1a\n damaged")
    with (root / "labels" / "train" / "0001.txt").open("a") as labels:
        labels.write("9 0.5 0.5 0.2 0.2\n0 0.97 0.5 0.3 0.2\n1 0.5 0.5 0.2 0.0\n")
    (root / "labels" / "train" / "0002.txt").unlink()
    return path


@pytest.fixture(scope="module")
def run(cli, data_yaml):
    return cli.json("pipeline", "image-det", f"data.path={data_yaml}", *QUICK)


@pytest.fixture(scope="module")
def server(run, tmp_path_factory):
    running = Server(run["bento_tag"], tmp_path_factory.mktemp("serve-det") / "server.log").wait_ready()
    yield running
    running.stop()


def test_every_stage_runs_and_reports_problems_and_metrics(run):
    manifest = json.loads((Path(run["dataset_dir"]) / "manifest.json").read_text())
    assert manifest["problems"] == {
        "unreadable_image": 1,
        "class_out_of_range": 1,
        "box_clipped": 1,
        "box_dropped": 1,
        "no_labels": 1,
    }
    assert manifest["splits"] == {"train": 239, "val": 40, "test": 40}
    metrics = run["metrics"]
    assert {"map", "map50", "precision", "recall", "per_class", "baseline"} <= set(metrics)
    assert set(metrics["per_class"]) == set(shapes.CLASSES)
    assert metrics["map50"] > metrics["baseline"]["map50"]  # eight epochs already beat one mean box
    assert run["parity"]["detection_agreement"] >= 0.99


def _inputs(folder: Path) -> Path:
    """Test scenes at their own size, doubled (boxes must double too) and a file that is no image."""
    folder.mkdir()
    for name, pixels, _, _ in shapes.scenes(4, seed=77):
        image = Image.fromarray(pixels)
        image.save(folder / f"{name}.png")
        image.resize((2 * shapes.WIDTH, 2 * shapes.HEIGHT), Image.Resampling.NEAREST).save(folder / f"{name}x2.png")
    (folder / "broken.png").write_bytes(b"not an image")
    return folder


def _predict(cli, folder: Path, *source: str) -> dict[str, dict]:
    out = folder.parent / f"out-{source[0].strip('-')}.jsonl"
    cli("predict", "image-det", str(folder), *source, "-o", str(out))
    return {Path(row["input"]).name: row for row in map(json.loads, out.read_text().splitlines())}


def _png(path: Path) -> bytes:
    return path.read_bytes()


def test_served_detections_equal_local_predict_in_image_pixels(run, server, cli, tmp_path):
    folder = _inputs(tmp_path / "inputs")
    local = _predict(cli, folder, "--model", run["onnx_path"])
    served = _predict(cli, folder, "--url", server.url)
    assert "error" in local["broken.png"] and "error" in served["broken.png"]
    for name, row in local.items():
        if name != "broken.png":
            assert served[name]["detections"] == row["detections"], name
    predictor = Predictor(run["onnx_path"])
    for name in ("0000.png", "0001.png"):
        low = {"image": _png(folder / name), "score_threshold": 0.05, "max_detections": 20}
        (want,) = predictor.predict([low], k=20)
        answer = requests.post(
            f"{server.url}/predict",
            files={"image": (name, _png(folder / name))},
            data={"score_threshold": "0.05", "max_detections": "20"},
            timeout=30,
        )
        assert answer.status_code == 200 and answer.json()["detections"] == want["detections"]
        assert 0 < len(want["detections"]) <= 20 and (want["width"], want["height"]) == (shapes.WIDTH, shapes.HEIGHT)
        double = predictor.predict([{**low, "image": _png(folder / name.replace(".png", "x2.png"))}], k=20)[0]
        assert (double["width"], double["height"]) == (2 * shapes.WIDTH, 2 * shapes.HEIGHT)
        first, twice = np.asarray(want["detections"][0]["box"]), np.asarray(double["detections"][0]["box"])
        assert np.allclose(twice, 2 * first, atol=3.0)  # the same object, in the bigger image's pixels


def test_service_bounds_its_options_and_refuses_bad_images(run, server, tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(buffer, format="PNG")
    image = {"image": ("x.png", buffer.getvalue())}
    one = requests.post(f"{server.url}/predict", files=image, data={"score_threshold": "0", "max_detections": "1"})
    assert one.status_code == 200 and len(one.json()["detections"]) == 1
    for field, value in (("score_threshold", "1.5"), ("max_detections", "0"), ("max_detections", "100000")):
        refused = requests.post(f"{server.url}/predict", files=image, data={field: value}, timeout=30)
        assert refused.status_code == 422, (field, value, refused.text)
    bad = requests.post(f"{server.url}/predict", files={"image": ("x.png", b"nope")}, timeout=30)
    assert 400 <= bad.status_code < 500 and "error" in bad.json()
    assert_no_5xx(server.url)


def test_a_coco_folder_with_problems_goes_through_every_stage(cli, tmp_path):
    path = shapes.write_coco(tmp_path / "coco", count=24, first_id=1)
    data = json.loads(path.read_text())
    first = data["annotations"][0]
    data["annotations"] += [{**first, "id": 900, "category_id": 42}, {**first, "id": 901, "bbox": [90, 2, 30, 10]}]
    path.write_text(json.dumps(data))
    (path.parent / "images" / "0005.png").write_bytes(b"\xff\xd8\xff damaged jpeg")
    tiny = ["data.image_size=32", "model.channels=[4,8,8]", "model.head=8", "trainer.max_epochs=1"]
    done = cli.json("pipeline", "image-det", f"data.path={path}", *tiny, *QUICK[1:])
    assert done["layout"] == "coco" and done["classes"] == list(shapes.CLASSES)
    assert done["problems"] == {"class_out_of_range": 1, "box_clipped": 1, "unreadable_image": 1}
    assert sum(done["split_sizes"].values()) == 23 and done["bento_tag"].startswith("aiaas-image-det:")
    assert {"map", "map50", "per_class"} <= set(done["metrics"]) and done["parity"]["detection_agreement"] >= 0.99


def test_save_images_draws_the_detections_beside_each_line(run, cli, tmp_path):
    folder = _inputs(tmp_path / "inputs")
    drawn = tmp_path / "drawn"
    out = tmp_path / "lines.jsonl"
    cli("predict", "image-det", str(folder), "--model", run["onnx_path"], "-o", str(out), "--save-images", str(drawn))
    rows = {Path(row["input"]).name: row for row in map(json.loads, out.read_text().splitlines())}
    assert "file" not in rows["broken.png"]
    picture = Image.open(rows["0000x2.png"]["file"])
    assert picture.size == (2 * shapes.WIDTH, 2 * shapes.HEIGHT) and Path(rows["0000x2.png"]["file"]).parent == drawn
    assert len(list(drawn.glob("*.png"))) == len(rows) - 1
