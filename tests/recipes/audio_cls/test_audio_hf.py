"""audio-cls model=hf: a tiny Wav2Vec2 made here from a small config (3 conv layers, hidden 32, 2 layers) and its
feature extractor, saved with save_pretrained and loaded by model.name=<folder> through the real Transformers loading
path. A hub download cannot run here (no internet): where a test stops short of one, it says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
import torch
from conftest import Server

from aiaas_cli import config, recipes
from aiaas_recipes.audio_cls.smoke import tone_folders
from tests.recipes.common.hub_models import RATE, save_tiny_wav2vec2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return save_tiny_wav2vec2(tmp_path_factory.mktemp("hf") / "tiny-wav2vec2")


@pytest.fixture(scope="module")
def tones(tmp_path_factory) -> Path:
    return tone_folders(tmp_path_factory.mktemp("audio") / "tones", per_class=6)


def hf_overrides(tiny: Path, tones: Path) -> list[str]:
    return ["model=hf", f"model.name={tiny}", f"data.path={tones}", "data.batch_size=6"]


def test_feature_extractor_settings_recorded_and_applied_by_the_service(cli, tiny, tones):
    from transformers import AutoFeatureExtractor

    from aiaas_recipes.audio_cls.serving import build_adapter

    out = cli.json("preprocess", "audio-cls", *hf_overrides(tiny, tones))
    manifest = json.loads((Path(out["dataset_dir"]) / "manifest.json").read_text())
    assert manifest["input"] == "waveform" and manifest["rate"] == RATE and manifest["clip"] == RATE
    assert manifest["feature_extractor"]["feature_extractor_type"] == "Wav2Vec2FeatureExtractor"
    rows = np.load(Path(out["dataset_dir"]) / "train_x.npy")
    assert rows.shape[1] == RATE
    # the service rebuilds the model's input from the recorded settings alone, in numpy: the same numbers as the
    # dataset, and as Transformers' own extractor on the same resampled clip
    adapter = build_adapter({"labels": manifest["classes"], **manifest})
    first = Path((Path(out["dataset_dir"]) / "train_files.txt").read_text().splitlines()[0])
    clip = adapter.decode(first.read_bytes())
    served = adapter.batch([clip])["features"]
    np.testing.assert_allclose(served[0], rows[0], atol=1e-6)
    reference = AutoFeatureExtractor.from_pretrained(tiny)(clip, sampling_rate=RATE, return_tensors="np")
    np.testing.assert_allclose(served, reference["input_values"], atol=1e-5)


def test_serving_path_imports_no_torch_or_transformers():
    code = (
        "import sys, numpy as np\n"
        "from aiaas_recipes.audio_cls.serving import build_adapter\n"
        "meta = {'labels': ['a', 'b'], 'input': 'waveform', 'rate': 8000, 'clip': 8000, 'do_normalize': True,\n"
        "        'min_seconds': 0.1, 'max_seconds': 10.0}\n"
        "print(build_adapter(meta).batch([np.ones(8000, np.float32)])['features'].shape)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'transformers', 'pytorch_lightning'})\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["(1, 8000)", ""]


def test_offline_and_not_cached_is_one_line(cli, tones, tmp_path, monkeypatch):
    # Offline with an empty cache: what a machine without the model gets. The online download itself cannot run here.
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    name = "aiaas-tests/no-such-audio-model"
    result = cli("preprocess", "audio-cls", "model=hf", f"model.name={name}", f"data.path={tones}", "offline=true",
                 expect=None)  # fmt: skip
    assert result.exit_code != 0
    assert name in result.stderr and "cache" in result.stderr and "Traceback" not in result.stderr
    assert not list(Path(tmp_path / "empty-cache").rglob("*.safetensors"))


def test_checkpoint_rebuilds_without_the_hub(cli, tiny, tones, tmp_path, monkeypatch):
    recipe = recipes.load("audio-cls")
    out = cli.json("preprocess", "audio-cls", *hf_overrides(tiny, tones))
    manifest = json.loads((Path(out["dataset_dir"]) / "manifest.json").read_text())
    cfg = config.compose(recipe, hf_overrides(tiny, tones))
    module = recipe.model(cfg, manifest, Path(out["dataset_dir"]))
    names = dict(module.named_parameters())
    assert module.pretrained_names < names.keys()
    assert {n for n in names if n not in module.pretrained_names} == {"net.model.classifier.weight",
                                                                      "net.model.classifier.bias"}  # fmt: skip
    assert module.aiaas_source["kind"] == "hf" and len(module.aiaas_source["sha256"]) == 64
    assert all(part.training for part in module.net.modules())  # from_pretrained returns it in eval mode
    checkpoint = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, tmp_path / "best.ckpt")

    moved = tiny.rename(tiny.with_name("gone"))  # neither the folder nor the hub is there now
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    try:
        network, meta = recipe.load_model(tmp_path / "best.ckpt")
    finally:
        moved.rename(tiny)
    x = torch.from_numpy(np.load(Path(out["dataset_dir"]) / "test_x.npy"))
    with torch.inference_mode():
        torch.testing.assert_close(network(x), module.net.eval()(x))
    assert meta["input"] == "waveform" and meta["classes"] == manifest["classes"]


@pytest.mark.slow
def test_hf_pipeline_predict_and_serve(cli, tiny, tones, tmp_path):
    out = cli.json("pipeline", "audio-cls", *hf_overrides(tiny, tones), "trainer.max_epochs=2",
                   "finetune.gradient_checkpointing=true", "optim.lr=0.0005")  # fmt: skip
    assert out["parity"]["top1_agreement"] == 1.0 and 0.0 <= out["metrics"]["accuracy"] <= 1.0
    lines = cli("predict", "audio-cls", str(tones), "--model", f"run={out['run_id']}").stdout.splitlines()
    local = {Path(r["input"]).parts[-2:]: r for r in map(json.loads, lines)}
    assert len(local) == 18 and all(r["label"] in {"high", "low", "mid"} for r in local.values())

    server = Server(out["bento_tag"], tmp_path / "server.log").wait_ready()
    try:
        for path in [sorted((tones / name).iterdir())[0] for name in ("high", "low", "mid")]:
            with path.open("rb") as handle:
                answer = requests.post(f"{server.url}/predict", files={"audio": handle}, data={"k": "3"}, timeout=60)
            assert answer.status_code == 200, answer.text
            best = answer.json()["predictions"][0]
            assert best["label"] == local[path.parts[-2:]]["label"]
            assert best["score"] == pytest.approx(local[path.parts[-2:]]["score"], abs=1e-5)
    finally:
        server.stop()
