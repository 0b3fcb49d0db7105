"""The torch-free serving half: requests checked (422 with a reason), request files read into one-image inputs,
the service's JSON shape round-trips, PNGs render."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.image_gen import serving

META = {"kind": "diffusion", "classes": ["cat", "dog"], "null_label": 2, "image_size": 4, "channels": 1,
        "timesteps": 50, "latent_dim": None,
        "sampling": {"steps": 5, "guidance": 2.0, "max_n": 4, "max_steps": 30, "eval_per_class": 4}}  # fmt: skip


class Fake:
    """An OnnxModel stand-in for the denoiser graph (ONNX Runtime itself is exercised by the contract test)."""

    def run(self, feeds):
        return {"eps": (0.3 * feeds["x"] + 0.2 * feeds["label"].reshape(-1, 1, 1, 1)).astype(np.float32)}


def test_requests_are_checked_with_a_reason():
    adapter = serving.build_adapter(META, max_steps=10)
    item = adapter.decode({"label": "dog", "seed": 3})
    assert item == {"label": 1, "seed": 3, "steps": 5, "guidance": 2.0}
    assert adapter.decode({"label": 0})["label"] == 0
    for bad, words in [({"label": 2}, "not a class"), ({"label": "cow"}, "not a class"), ({"steps": 11}, "steps"),
                       ({"steps": 0}, "steps"), ({"seed": -1}, "seed"), ({"guidance": 99}, "guidance"),
                       ({"n": 3}, "n=1"), ({"colour": 1}, "unknown key"), ("dog", "expected an object")]:  # fmt: skip
        with pytest.raises(BadInput, match=words) as caught:
            adapter.decode(bad)
        assert caught.value.status == 422


def test_run_and_postprocess_give_the_same_png_for_the_same_seed():
    adapter = serving.build_adapter(META)
    items = [adapter.decode({"label": 1, "seed": 4}), adapter.decode({"label": 0, "seed": 4, "steps": 3})]
    answers = adapter.postprocess(adapter.run(Fake(), adapter.batch(items)), items, 1)
    again = adapter.postprocess(adapter.run(Fake(), adapter.batch(items[:1])), items[:1], 1)
    assert answers[0] == again[0] and answers[0]["label"] == "dog" and answers[1]["steps"] == 3
    image = Image.open(io.BytesIO(base64.b64decode(answers[0]["png_base64"])))
    assert image.size == (4, 4) and image.mode == "L"
    assert serving.render_output({}, answers[0]) == (".png", base64.b64decode(answers[0]["png_base64"]))
    body = json.loads(json.dumps(serving.http_response(answers)))
    assert serving.http_predictions(body) == answers
    assert serving.http_request("x", {"label": 1, "seed": 2}, 1) == {"json": {"label": 1, "seed": 2, "n": 1}}


def test_request_files_become_one_image_inputs(tmp_path):
    lines = tmp_path / "requests.txt"
    lines.write_text("label=3 n=3 seed=10 steps=8\n# a comment\n\nlabel=dog guidance=1.5\ncolour=red\nn=0\n")
    (tmp_path / "more.json").write_text(json.dumps([{"label": 1, "n": 2}, "oops"]))
    (tmp_path / "broken.json").write_text("{not json")
    got = list(serving.read_inputs([lines, tmp_path / "more.json", tmp_path / "broken.json"]))
    good = [(name.rsplit("/", 1)[-1], payload) for name, payload in got if not isinstance(payload, Exception)]
    assert good[:4] == [
        ("requests.txt:1#0", {"label": 3, "seed": 10, "steps": 8}),
        ("requests.txt:1#1", {"label": 3, "seed": 11, "steps": 8}),
        ("requests.txt:1#2", {"label": 3, "seed": 12, "steps": 8}),
        ("requests.txt:4#0", {"label": "dog", "guidance": 1.5, "seed": 0}),
    ]
    assert [p["seed"] for _, p in good[4:]] == [0, 1]
    errors = [name.rsplit("/", 1)[-1] for name, payload in got if isinstance(payload, Exception)]
    assert errors == ["requests.txt:5", "requests.txt:6", "more.json:2", "broken.json"]
