"""image-seg end to end on the built-in shapes: every stage to a served Bento, then `aiaas predict` locally and
over HTTP (the same masks), and a bad upload answered with a 4xx."""

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

from aiaas_recipes.image_seg.images import read_mask_png

pytestmark = pytest.mark.slow

QUICK = ["trainer.max_epochs=3", "trainer.threads=1", "trainer.early_stopping.enabled=false", "export.register=false"]


@pytest.fixture(scope="module")
def run(cli):
    return cli.json("pipeline", "image-seg", *QUICK)


@pytest.fixture(scope="module")
def server(run, tmp_path_factory):
    running = Server(run["bento_tag"], tmp_path_factory.mktemp("serve-seg") / "server.log").wait_ready()
    yield running
    running.stop()


def test_pipeline_reports_segmentation_metrics_and_pictures(run):
    metrics = run["metrics"]
    assert {"miou", "pixel_accuracy", "dice", "per_class", "baseline"} <= set(metrics)
    assert set(metrics["per_class"]) == {"background", "circle", "square", "triangle"}
    assert 0 <= metrics["miou"] <= 1 and metrics["baseline"]["name"] == "nearest class colour"
    assert run["parity"]["pixel_agreement"] >= 0.999
    manifest = json.loads((Path(run["dataset_dir"]) / "manifest.json").read_text())
    assert manifest["skipped"] == [] and sum(manifest["splits"].values()) == 800


def predictions(cli, folder: Path, *source: str) -> list[dict]:
    out = folder.parent / f"out-{source[0].strip('-')}.jsonl"  # not among the inputs
    cli("predict", "image-seg", str(folder), *source, "-o", str(out))
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_served_masks_equal_local_predict(run, server, cli, tmp_path):
    tmp_path = tmp_path / "inputs"
    tmp_path.mkdir()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (40, 90, 3), dtype=np.uint8)).save(tmp_path / "wide.png")
    Image.fromarray(rng.integers(0, 255, (70, 30, 3), dtype=np.uint8)).save(tmp_path / "tall.jpg")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    local = predictions(cli, tmp_path, "--model", run["onnx_path"])
    served = predictions(cli, tmp_path, "--url", server.url)
    by_name = {Path(row["input"]).name: row for row in local}
    assert "error" in by_name["broken.png"]
    for row in served:
        mine = by_name[Path(row["input"]).name]
        if "error" in row:
            assert "error" in mine
            continue
        assert row["mask"] == mine["mask"] and row["counts"] == mine["counts"]
    wide = by_name["wide.png"]
    assert read_mask_png(wide["mask"]).shape == (40, 90) and sum(wide["counts"].values()) == 40 * 90
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, format="PNG")
    ok = requests.post(f"{server.url}/predict", files={"image": ("x.png", buffer.getvalue())}, timeout=30)
    assert ok.status_code == 200 and set(ok.json()) >= {"mask", "classes", "areas", "counts"}
    bad = requests.post(f"{server.url}/predict", files={"image": ("x.png", b"nope")}, timeout=30)
    assert 400 <= bad.status_code < 500
    assert_no_5xx(server.url)


def test_output_folder_holds_an_overlay_per_image_and_the_lines(run, cli, tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    Image.fromarray(np.full((30, 50, 3), 200, np.uint8)).save(inputs / "flat.png")
    (inputs / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    summary = json.loads(
        cli("predict", "image-seg", str(inputs), "--model", run["onnx_path"], "-o", f"{out}/", "--json").stdout
    )
    assert summary["saved"] == str(out) and summary["failed"] == 1
    rows = {
        Path(row["input"]).name: row for row in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())
    }
    assert "file" not in rows["broken.png"]
    painted = Image.open(rows["flat.png"]["file"])
    assert painted.size == (50, 30) and painted.mode == "RGB"
    assert Path(rows["flat.png"]["file"]).parent == out and Path(rows["flat.png"]["file"]).name.endswith("_flat.png")
