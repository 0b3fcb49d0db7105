"""End to end over HTTP: the packaged digits Bento served by `aiaas serve`, against local ONNX Runtime."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from aiaas_cli import workspace
from aiaas_cli.serving.runtime import Predictor
from aiaas_cli.stages.package import onnx_path

pytestmark = pytest.mark.slow


def digit_files(count: int) -> list[Path]:
    root = workspace.builtin_dir() / "digits"
    return [sorted((root / str(label)).glob("*.png"))[0] for label in range(10)][:count]


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def post_image(server, data: bytes, route: str = "/predict", **form) -> requests.Response:
    return requests.post(f"{server.url}{route}", files={"image": ("x.png", data)}, data=form, timeout=30)


@pytest.fixture(scope="module")
def local(exported_run) -> Predictor:
    return Predictor(onnx_path(exported_run))


def test_predict_matches_local_onnx_runtime(server, local):
    for path in digit_files(10):
        answer = post_image(server, path.read_bytes())
        assert answer.status_code == 200, answer.text
        served = answer.json()["predictions"]
        expected = local.predict([path.read_bytes()], k=5)[0]["predictions"]
        assert [p["label"] for p in served] == [p["label"] for p in expected]
        assert np.allclose([p["score"] for p in served], [p["score"] for p in expected], atol=1e-5)


def test_predict_batch_and_k(server, local):
    files = digit_files(4)
    payload = [("images", (f.name, f.read_bytes())) for f in files]
    answer = requests.post(f"{server.url}/predict_batch", files=payload, data={"k": "2"}, timeout=30)
    assert answer.status_code == 200, answer.text
    expected = local.predict([f.read_bytes() for f in files], k=2)
    assert [[p["label"] for p in row["predictions"]] for row in answer.json()] == [
        [p["label"] for p in row["predictions"]] for row in expected
    ]


BAD_INPUTS = {
    "not an image": (lambda s: post_image(s, b"hello, not an image"), 400, "not an image"),
    "empty file": (lambda s: post_image(s, b""), 400, "empty"),
    "empty body": (
        lambda s: requests.post(f"{s.url}/predict", headers={"Content-Type": "multipart/form-data; boundary=x"}),
        400,
        "empty",
    ),
    "wrong content type": (
        lambda s: requests.post(f"{s.url}/predict", json={"image": "aGVsbG8="}, timeout=30),
        415,
        "multipart",
    ),
    "truncated image": (lambda s: post_image(s, png(64, 64)[:60]), 400, "image"),
    "too many pixels": (lambda s: post_image(s, png(2000, 1000)), 400, "limit"),
    "body too large": (lambda s: post_image(s, b"\0" * (2 * 1024 * 1024)), 413, "limit"),
    "pickle": (
        lambda s: requests.post(
            f"{s.url}/predict",
            data=pickle.dumps({"image": b"x"}),
            headers={"Content-Type": "application/vnd.bentoml+pickle"},
            timeout=30,
        ),
        415,
        "pickle",
    ),
    "malformed multipart": (
        lambda s: requests.post(
            f"{s.url}/predict", data=b"garbage", headers={"Content-Type": "multipart/form-data"}, timeout=30
        ),
        400,
        "multipart",
    ),
    "no image field": (lambda s: requests.post(f"{s.url}/predict", files={"k": (None, "3")}, timeout=30), 400, "image"),
    "wrong field name": (
        lambda s: requests.post(f"{s.url}/predict", files={"img": ("x.png", png(8, 8))}, timeout=30),
        400,
        "unexpected form field 'img'",
    ),
    "nested JSON in a form field": (
        lambda s: post_image(s, png(8, 8), k="[" * 3000 + "]" * 3000),
        400,
        "form field 'k'",
    ),
    "text where a file belongs": (
        lambda s: requests.post(f"{s.url}/predict", files={"image": (None, "hello")}, timeout=30),
        400,
        "must be a file",
    ),
    "images above the per-request pixel budget": (
        lambda s: requests.post(
            f"{s.url}/predict_batch", files=[("images", ("x.png", png(900, 1000))) for _ in range(3)], timeout=30
        ),
        413,
        "pixels together",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_4xx_json_and_server_stays_up(server, case):
    send, status, words = BAD_INPUTS[case]
    answer = send(server)
    assert answer.status_code == status, answer.text
    assert "error" in answer.json()
    assert words in answer.text.lower()
    assert requests.get(f"{server.url}/readyz", timeout=10).status_code == 200


def test_openapi_document_lists_the_contract(server):
    document = requests.get(f"{server.url}/docs.json", timeout=10).json()
    assert {"/predict", "/predict_batch"} <= set(document["paths"])
