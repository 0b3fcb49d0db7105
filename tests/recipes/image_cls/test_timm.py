"""image-cls model=timm: the model's own preprocessing recorded and served, where its weights come from (a file, timm's
download in the local cache), one line when they cannot be had, and a checkpoint that needs none of them.

Nothing here downloads: the machine that runs the tests has no internet. A timm model's weights are written by the
test (timmfiles.write_weights) and read through timm's own loading code, from model.file or from a Hugging Face cache
laid out the way huggingface_hub writes it. The download itself (timm.create_model(name, pretrained=True) online) is
the one step not exercised."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from imagefiles import write_dataset
from timmfiles import ARCH, write_weights

from aiaas_cli import recipes
from aiaas_cli.config import compose
from aiaas_recipes.common.backbones import timm_models
from aiaas_recipes.common.backbones.pretrained import for_checkpoint
from aiaas_recipes.common.vision.transforms import decode

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return write_weights(tmp_path_factory.mktemp("timm") / "tiny.safetensors")


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("timm-photos") / "photos", {"ant": 6, "bee": 6})


def timm_overrides(weights: Path, *more: str) -> list[str]:
    return ["model=timm", f"model.name={ARCH}", f"model.file={weights}", *more]


@pytest.fixture()
def empty_caches(tmp_path, monkeypatch) -> Path:
    """No timm download anywhere: an empty Hugging Face hub cache and torch hub dir."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "torch"))
    return tmp_path / "hf"


def test_the_models_preprocessing_is_recorded_and_serving_decodes_as_preprocess_did(weights, photos, tmp_path):
    recipe = recipes.load("image-cls")
    overrides = timm_overrides(weights, "model.input_size=24")
    cfg = compose(recipe, [f"data.root={photos}", "data.image_size=64", *overrides])
    out = tmp_path / "dataset"
    out.mkdir()
    manifest = recipe.build_dataset(cfg, out)
    assert manifest["data_config"] == {"input_size": 24, "interpolation": "bicubic", "mean": IMAGENET[0],
                                       "std": IMAGENET[1], "crop_pct": 0.95, "crop_mode": "center"}  # fmt: skip
    assert (manifest["image_size"], manifest["mean"], manifest["std"]) == (24, *IMAGENET)  # not data.image_size

    meta = recipe.image_meta(manifest, cfg.model)
    metadata = recipe.export_spec(None, meta).metadata
    assert (metadata["interpolation"], metadata["crop_pct"], metadata["model"]) == ("bicubic", 0.95, f"timm:{ARCH}")
    assert metadata["data_config"] == manifest["data_config"]

    from aiaas_recipes.image_cls.serving import build_adapter

    adapter = build_adapter(metadata)
    rows = np.load(out / "train_x.npy")
    files = (out / "train_files.txt").read_text().splitlines()
    served = [adapter.decode((photos / name).read_bytes()) for name in files]
    assert all(np.array_equal(row, one) for row, one in zip(rows, served))  # the very pixels training saw
    plain = [decode((photos / name).read_bytes(), 24) for name in files]  # bilinear, whole square: not the same
    assert not all(np.array_equal(row, one) for row, one in zip(rows, plain))
    batch = adapter.batch(served[:2])["image"]
    expected = (rows[:2].astype(np.float32) / 255 - np.float32(IMAGENET[0])) / np.float32(IMAGENET[1])
    assert np.allclose(batch, expected.transpose(0, 3, 1, 2), atol=1e-6)

    module = recipe.model(cfg, manifest, out)
    head = {f"net.{name}" for name, _ in module.net.get_classifier().named_parameters(prefix="classifier")}
    assert module.pretrained_names == {name for name, _ in module.named_parameters()} - head
    assert module.aiaas_source["kind"] == "timm" and len(module.aiaas_source["sha256"]) == 64


def test_a_missing_model_file_is_one_line(cli, weights, tmp_path):
    missing = tmp_path / "nowhere.safetensors"
    result = cli("train", "image-cls", "model=timm", f"model.name={ARCH}", f"model.file={missing}", expect=2)
    assert f"model.file={missing} does not exist" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("switch", ["offline=true", "HF_HUB_OFFLINE=1"])
def test_offline_and_not_cached_is_one_line_naming_model_and_cache(cli, empty_caches, monkeypatch, switch):
    """Offline, a timm name whose weights were never downloaded stops before any run opens; it never trains from a
    silent random initialisation."""
    key, value = switch.split("=")
    overrides = [switch] if key == "offline" else []
    if key == "HF_HUB_OFFLINE":
        monkeypatch.setenv(key, value)
    result = cli("train", "image-cls", "model=timm", f"model.name={ARCH}", *overrides, expect=1)
    line = f"timm model '{ARCH}' is not in the cache {empty_caches}"
    assert line in result.stderr and "model.file" in result.stderr and "Traceback" not in result.stderr


def test_offline_reads_timms_download_from_the_hub_cache_and_records_its_commit(empty_caches, weights):
    """The layout huggingface_hub writes (models--org--name/snapshots/<commit>/, refs/main) with a file made here."""
    import timm

    hub_id = timm.models.get_pretrained_cfg(ARCH).hf_hub_id
    repo = empty_caches / f"models--{hub_id.replace('/', '--')}"
    (repo / "snapshots" / "c0ffee").mkdir(parents=True)
    (repo / "snapshots" / "c0ffee" / "model.safetensors").write_bytes(weights.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("c0ffee")

    built = timm_models.classifier({"name": ARCH, "pretrained": True}, num_classes=3, offline=True)
    assert built.source == {"kind": "timm", "name": ARCH, "revision": f"{hub_id}@c0ffee"}
    saved = timm.models.load_state_dict(str(weights))
    state = built.net.state_dict()
    assert built.net.get_classifier().out_features == 3
    assert all(torch.equal(saved[name], state[name]) for name in state if not name.startswith("classifier."))


def test_a_checkpoint_rebuilds_the_network_without_reading_the_weights_file(weights, tmp_path):
    recipe = recipes.load("image-cls")
    file = tmp_path / "weights.safetensors"
    file.write_bytes(weights.read_bytes())
    model_cfg = {"kind": "timm", "name": ARCH, "file": str(file), "pretrained": True, "input_size": 24}
    meta = {"recipe": "image-cls", "classes": ["a", "b"], "image_size": 24, "mean": IMAGENET[0], "std": IMAGENET[1]}
    trained = recipe.build_network(model_cfg, {**meta, "model": model_cfg})
    state = {f"net.{name}": value for name, value in trained.state_dict().items()}
    torch.save({"state_dict": state, "aiaas": {**meta, "model": model_cfg}}, tmp_path / "best.ckpt")
    file.unlink()
    with pytest.raises(Exception, match="does not exist"):
        recipe.build_network(model_cfg, meta)  # training would read the file...
    assert for_checkpoint(model_cfg)["file"] is None
    network, _ = recipe.load_model(tmp_path / "best.ckpt")  # ...its checkpoint does not
    assert all(torch.equal(value, trained.state_dict()[name]) for name, value in network.state_dict().items())


def test_serving_a_timm_model_imports_neither_torch_nor_timm(photos):
    image = next(photos.rglob("*.png"))
    code = (
        "import sys\n"
        "from aiaas_recipes.image_cls.serving import build_adapter\n"
        "meta = {'labels': ['a', 'b'], 'input_size': 24, 'mean': [0.5] * 3, 'std': [0.5] * 3,"
        " 'interpolation': 'bicubic', 'crop_pct': 0.9}\n"
        "adapter = build_adapter(meta)\n"
        f"print(adapter.batch([adapter.decode(open({str(image)!r}, 'rb').read())])['image'].shape)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'timm', 'torchvision', 'transformers'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=Path.cwd())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["(1, 3, 24, 24)", "[]"]
