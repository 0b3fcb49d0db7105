"""The text service over HTTP: a tiny text-cls model packaged by `aiaas package`'s builder and served.

The model is an untrained TextTransformer exported as text-cls exports it (no training: the HTTP contract is
what is tested); its served answers must match the same adapter + ONNX Runtime in this process.
"""

from __future__ import annotations

import numpy as np
import pytest
import requests
from conftest import Server
from schemafuzz import assert_no_5xx

pytestmark = pytest.mark.slow

LABELS = ["food", "sports", "tech"]


def text_recipe_missing() -> str | None:
    try:
        from aiaas_cli import recipes

        recipes.load("text-cls")
        import aiaas_recipes.text_cls.serving  # noqa: F401
    except Exception as exc:  # not registered yet, or its serving module does not import
        return f"the text-cls recipe is not usable here: {exc!r}"
    return None


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    if reason := text_recipe_missing():
        pytest.skip(reason)
    import torch
    from omegaconf import OmegaConf

    from aiaas_cli.recipe_api import bundled_conf_dir
    from aiaas_cli.stages.export import _torch_export, embed_metadata
    from aiaas_recipes.common.text import tokenizer
    from aiaas_recipes.text_cls.export import export_spec
    from aiaas_recipes.text_cls.model import TextTransformer

    torch.manual_seed(0)
    net = TextTransformer(3, vocab_size=60, max_length=8, width=16, layers=1, heads=2, ff=32).eval()
    tok = tokenizer.train(["goal team match", "pasta oven bread", "laptop chip code"], vocab_size=60, min_frequency=1)
    meta = {"classes": LABELS, "max_length": 8, "tokenizer": tok.to_str(), "model": {"_target_": "transformer"}}
    spec = export_spec(net, meta)
    path = tmp_path_factory.mktemp("text-model") / "model.onnx"
    _torch_export(net, spec, path, OmegaConf.load(bundled_conf_dir() / "export" / "onnx.yaml"))
    metadata = {**spec.metadata, "recipe": "text-cls", "serving_module": "aiaas_recipes.text_cls.serving"}
    metadata.update(input_names=spec.input_names, output_names=spec.output_names)
    embed_metadata(path, metadata)
    return path, metadata


@pytest.fixture(scope="module")
def text_server(text_model, tmp_path_factory):
    from aiaas_cli import recipes
    from aiaas_cli.stages import package

    path, metadata = text_model
    settings = {"top_k": 3, "limits": {}, "max_body_bytes": 64 * 1024, "max_batch_size": 8, "max_latency_ms": 2}
    recipe = recipes.load("text-cls")
    built = package.build_bento(
        path, metadata, {**settings, "threads": 1, "workers": 1}, {"run_id": "text-test"}, recipe
    )
    assert package.service_for(metadata["serving_module"]).endswith(":TextService")
    running = Server(built["bento_tag"], tmp_path_factory.mktemp("serve-text") / "server.log").wait_ready()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def local(text_model):
    from aiaas_cli.serving.runtime import Predictor

    return Predictor(text_model[0])


def test_predict_one_text_matches_local(text_server, local):
    text = "goal team pasta " * 10  # longer than max_length: truncated
    answer = requests.post(f"{text_server.url}/predict", json={"text": text}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"predictions", "truncated"} and body["truncated"] is True
    expected = local.predict([text], k=3)[0]["predictions"]
    assert [p["label"] for p in body["predictions"]] == [p["label"] for p in expected]
    assert np.allclose([p["score"] for p in body["predictions"]], [p["score"] for p in expected], atol=1e-5)


def test_predict_batch_keeps_order_and_k(text_server, local):
    texts = ["goal", "laptop chip", "pasta oven bread"]
    answer = requests.post(f"{text_server.url}/predict_batch", json={"texts": texts, "k": 2}, timeout=30)
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    assert [r["truncated"] for r in rows] == [False, False, False]
    assert [[p["label"] for p in r["predictions"]] for r in rows] == [
        [p["label"] for p in answer["predictions"]] for answer in local.predict(texts, k=2)
    ]


BAD_TEXTS = {
    "empty text": ({"text": "   "}, "/predict"),
    "not a string": ({"text": 42}, "/predict"),
    "no text field": ({"words": "hello"}, "/predict"),
    "empty list": ({"texts": []}, "/predict_batch"),
    "a non-string in the list": ({"texts": ["ok", None]}, "/predict_batch"),
    "oversized": ({"text": "x" * 200_000}, "/predict"),
}


@pytest.mark.parametrize("case", list(BAD_TEXTS))
def test_bad_text_gets_4xx_json(text_server, case):
    body, route = BAD_TEXTS[case]
    answer = requests.post(f"{text_server.url}{route}", json=body, timeout=30)
    assert 400 <= answer.status_code < 500, answer.text
    assert "error" in answer.json()
    assert requests.get(f"{text_server.url}/readyz", timeout=10).status_code == 200


def test_fuzzed_texts_never_get_a_5xx(text_server):
    assert_no_5xx(text_server.url, examples=40, expect={"/predict", "/predict_batch"})


def test_deeply_nested_json_is_400_before_any_parser_recurses(text_server):
    body = b'{"text": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"  # 40 KB (limit 64 KB)
    answer = requests.post(
        f"{text_server.url}/predict", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert answer.status_code == 400, answer.text
    assert "nested deeper than" in answer.json()["error"]
    assert requests.get(f"{text_server.url}/readyz", timeout=10).status_code == 200
