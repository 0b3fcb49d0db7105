"""The recipe contract, checked on every registered recipe (and the example plugin) with tiny generated data:
preprocess -> one training step -> export -> parity by the recipe's own comparison -> postprocess -> the
service's request and response schema. A new recipe gets this test by registering itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aiaas_cli import artifacts, recipes
from aiaas_cli.serving.runtime import Predictor

QUICK = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.early_stopping.enabled=false",
    "export.register=false",
]
# a hub model per modality: "<recipe>+<model kind>", its smoke run with a tiny model made in the test
HUB_MODELS = {"text-cls+hf": "text-cls", "image-cls+timm": "image-cls", "audio-cls+hf": "audio-cls"}
NAMES = sorted({*recipes.available(), "points", *HUB_MODELS})

SCHEMA_CHECK = """
import json, sys
from bentoml._internal.utils.args import set_arguments
set_arguments({"model_tag": sys.argv[1]})
import importlib
serving = importlib.import_module(sys.argv[2])
module_name, _, cls_name = serving.SERVICE.partition(":")
service = getattr(importlib.import_module(module_name), cls_name)
api = service.apis["predict"]
body, request = json.loads(sys.argv[3]), json.loads(sys.argv[4])
api.output_spec.model_validate(body)
if "json" in request:
    api.input_spec.model_validate(request["json"])
print("schema ok", sorted(api.input_spec.model_json_schema()["properties"]))
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("contract")


@pytest.mark.parametrize("name", NAMES)
def test_recipe_keeps_the_contract(name, cli, workdir, points_plugin):
    recipe = recipes.load(HUB_MODELS.get(name, name))  # the registry's check: every hook is there
    overrides = recipe.smoke_overrides(workdir / name)
    if name in HUB_MODELS:
        overrides = HUB_OVERRIDES[name](overrides, workdir / name)
    name = recipe.name
    trained = cli.json("train", name, *overrides, *QUICK)
    exported = cli.json("export", name, f"run={trained['run_id']}", *overrides, *QUICK)
    assert exported["parity"]["samples"] > 0  # export refuses a model that fails the recipe's own comparison

    dataset = artifacts.dataset_of(trained["run_id"])
    samples = recipe.sample_inputs(dataset.dir, dataset.manifest, limit=3)
    assert samples, "sample_inputs gives inputs to show and check the served model with"
    predictor = Predictor(exported["onnx_path"])
    predictions = predictor.predict([payload for _, payload in samples], k=2)
    assert len(predictions) == len(samples) and all(isinstance(p, dict) for p in predictions)
    json.dumps(predictions)  # JSON-ready, as the service answers it
    rows = [predictor.to_row(n, payload, p) for (n, payload), p in zip(samples, predictions)]
    assert all(row["input"] == n for row, (n, _) in zip(rows, samples))

    module = predictor.module
    body = module.http_response(predictions[:1])
    assert module.http_predictions(json.loads(json.dumps(body))) == json.loads(json.dumps(predictions[:1]))
    _check_service_schema(predictor, body, module.http_request(*samples[0], 2), points_plugin)


def hub_overrides(overrides: list[str], workdir: Path) -> list[str]:
    """The smoke run with model=hf: a tiny BERT saved in ``workdir`` (tokenizer trained on the smoke texts) in place
    of the recipe's own smallest model; loaded from its folder (no internet here for a hub download)."""
    import csv

    from tests.recipes.common.hub_models import tiny_bert

    table = next(o.split("=", 1)[1] for o in overrides if o.startswith("data.path="))
    with open(table, newline="") as handle:
        texts = [row[0] for row in csv.reader(handle)][1:]
    folder = tiny_bert(workdir / "bert", texts, layers=1, hidden=16)
    return [*(o for o in overrides if not o.startswith("model.")), "model=hf", f"model.name={folder}"]


def timm_overrides(overrides: list[str], workdir: Path) -> list[str]:
    """The smoke run with model=timm: a tiny timm architecture's weights written to a file (as a user would have
    downloaded them; no internet here), loaded through timm's file overlay, at a small input size."""
    from tests.recipes.image_cls.timmfiles import ARCH, write_weights

    weights = write_weights(workdir / "weights.safetensors")
    return [*(o for o in overrides if not o.startswith("model.")), "model=timm", f"model.name={ARCH}",
            f"model.file={weights}", "model.input_size=32"]  # fmt: skip


def wav2vec2_overrides(overrides: list[str], workdir: Path) -> list[str]:
    """The smoke run with model=hf for audio: a tiny Wav2Vec2 classifier saved in ``workdir`` (no internet here)."""
    from tests.recipes.common.hub_models import save_tiny_wav2vec2

    folder = save_tiny_wav2vec2(workdir / "wav2vec2")
    return [*(o for o in overrides if not o.startswith("model.")), "model=hf", f"model.name={folder}"]


HUB_OVERRIDES = {"text-cls+hf": hub_overrides, "image-cls+timm": timm_overrides, "audio-cls+hf": wav2vec2_overrides}


def _check_service_schema(predictor: Predictor, body: dict, request: dict, plugin_site: Path) -> None:
    """The recipe's service, loaded with this model as a Bento would load it, accepts the request and the answer."""
    from aiaas_cli.stages import bento_model

    tag = bento_model.save_model(predictor.model.path, predictor.metadata)
    request = {key: value for key, value in request.items() if key == "json"}  # files are not JSON
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_site), os.environ.get("PYTHONPATH", "")])}
    args = [tag, predictor.metadata["serving_module"], json.dumps(body), json.dumps(request)]
    done = subprocess.run(
        [sys.executable, "-c", SCHEMA_CHECK, *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "schema ok" in done.stdout
