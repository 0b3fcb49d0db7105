"""image-det model=centernet_timm: CenterNet's heads on a timm backbone read from a weights file (timm's download is
not exercised: no internet here), normalised with the model's own mean/std, through every stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from aiaas_cli import recipes
from aiaas_cli.config import compose
from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.backbones.pretrained import for_checkpoint
from aiaas_recipes.image_det import shapes

ARCH = "test_resnet"  # 370k parameters, maps at strides 4, 8, 16; its config: mean = std = 0.5


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("det-timm") / "tiny.safetensors"
    save_file(timm.create_model(ARCH, num_classes=5).state_dict(), str(path))  # with its own 5-class head
    return path


def overrides(weights: Path, data: Path, *more: str) -> list[str]:
    return [f"data.path={data}", "data.image_size=32", "model=centernet_timm", f"model.name={ARCH}",
            f"model.file={weights}", "model.head=8", *more]  # fmt: skip


def test_the_backbone_holds_the_files_weights_and_a_checkpoint_needs_no_file(weights, tmp_path):
    data = shapes.write_yolo(tmp_path / "yolo", splits={"train": 8, "val": 2, "test": 2})
    recipe = recipes.load("image-det")
    cfg = compose(recipe, overrides(weights, data))
    meta = {"recipe": "image-det", "classes": list(shapes.CLASSES), "image_size": 32, "mean": [0.5] * 3}
    module = recipe.model(cfg, {**meta, "std": [0.5] * 3}, tmp_path)
    scores, boxes = module.net.eval()(torch.rand(2, 3, 32, 32))
    assert scores.shape == (2, len(shapes.CLASSES), 8, 8) and boxes.shape == (2, 4, 8, 8)

    import timm

    saved = timm.models.load_state_dict(str(weights))
    body = module.net.backbone.body.state_dict()
    assert body and all(torch.equal(value, saved[name]) for name, value in body.items())
    backbone = {f"net.backbone.body.{name}" for name, _ in module.net.backbone.body.named_parameters()}
    assert module.pretrained_names == backbone and module.aiaas_source["kind"] == "timm"

    state = {f"net.{name}": value for name, value in module.net.state_dict().items()}
    model_cfg = {**module.meta["model"], "file": str(tmp_path / "gone.safetensors")}  # a file that no longer exists
    assert for_checkpoint(model_cfg)["file"] is None
    torch.save({"state_dict": state, "aiaas": {**module.meta, "model": model_cfg}}, tmp_path / "moved.ckpt")
    network, _ = recipe.load_model(tmp_path / "moved.ckpt")
    assert all(torch.equal(value, module.net.state_dict()[name]) for name, value in network.state_dict().items())


def test_a_backbone_without_maps_at_strides_4_8_16_is_one_line(tmp_path):
    data = shapes.write_yolo(tmp_path / "yolo", splits={"train": 4, "val": 2, "test": 2})
    recipe = recipes.load("image-det")
    cfg = compose(recipe, [f"data.path={data}", "data.image_size=32", "model=centernet_timm", "model.name=test_vit",
                           "model.pretrained=false"])  # fmt: skip
    meta = {"recipe": "image-det", "classes": ["a"], "image_size": 32, "mean": [0.5] * 3, "std": [0.5] * 3}
    with pytest.raises(ConfigError, match="strides .* not 4, 8 and 16"):
        recipe.model(cfg, meta, tmp_path)


@pytest.mark.slow
def test_every_stage_runs_on_a_timm_backbone(cli, weights, tmp_path):
    data = shapes.write_yolo(tmp_path / "yolo", splits={"train": 32, "val": 8, "test": 8})
    quick = ["trainer.max_epochs=1", "trainer.threads=1", "trainer.early_stopping.enabled=false"]
    run = cli.json("pipeline", "image-det", *overrides(weights, data, *quick, "export.register=false"))
    assert run["parity"]["detection_agreement"] == 1.0 and run["bento_tag"].startswith("aiaas-image-det:")
    manifest = json.loads((Path(run["dataset_dir"]) / "manifest.json").read_text())
    assert (manifest["mean"], manifest["std"], manifest["image_size"]) == ([0.5] * 3, [0.5] * 3, 32)
    import onnx

    props = {p.key: p.value for p in onnx.load(run["onnx_path"], load_external_data=False).metadata_props}
    metadata = json.loads(props["aiaas"])
    assert metadata["model"] == f"timm:{ARCH}" and metadata["mean"] == [0.5] * 3
    rows = cli("predict", "image-det", str(data.parent / "images" / "test"), "--model", run["onnx_path"])
    assert len(rows.stdout.splitlines()) == 8
