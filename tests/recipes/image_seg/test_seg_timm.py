"""image-seg model=fpn_timm: a timm encoder read from a weights file (timm's download is not exercised: no internet
here), masks at the input's size, normalised with the model's own mean/std, through every stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from aiaas_cli import recipes
from aiaas_cli.config import compose
from aiaas_recipes.image_seg import shapes

ARCH = "test_resnet"  # 370k parameters, maps at strides 2 to 32; its config: mean = std = 0.5


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("seg-timm") / "tiny.safetensors"
    save_file(timm.create_model(ARCH, num_classes=5).state_dict(), str(path))
    return path


def overrides(weights: Path, root: Path, *more: str) -> list[str]:
    return [f"data.root={root}", "data.image_size=40", "model=fpn_timm", f"model.name={ARCH}",
            f"model.file={weights}", "model.head=8", *more]  # fmt: skip


def test_the_encoder_holds_the_files_weights_and_masks_come_out_at_the_inputs_size(weights, tmp_path):
    root = shapes.write_folder(tmp_path / "shapes", count=8)
    recipe = recipes.load("image-seg")
    cfg = compose(recipe, overrides(weights, root))
    meta = {"recipe": "image-seg", "classes": ["background", "a", "b"], "image_size": 40, "mean": [0.5] * 3}
    module = recipe.model(cfg, {**meta, "std": [0.5] * 3}, tmp_path)
    assert module.net.eval()(torch.rand(2, 3, 40, 40)).shape == (2, 3, 40, 40)  # 40 is no multiple of 32

    import timm

    saved = timm.models.load_state_dict(str(weights))
    body = module.net.body.state_dict()
    assert body and all(torch.equal(value, saved[name]) for name, value in body.items())
    encoder = {f"net.body.{name}" for name, _ in module.net.body.named_parameters()}
    assert module.pretrained_names == encoder and module.aiaas_source["sha256"]


@pytest.mark.slow
def test_every_stage_runs_on_a_timm_encoder(cli, weights, tmp_path):
    root = shapes.write_folder(tmp_path / "shapes", count=40)
    quick = ["trainer.max_epochs=1", "trainer.threads=1", "trainer.early_stopping.enabled=false"]
    run = cli.json("pipeline", "image-seg", *overrides(weights, root, *quick, "export.register=false"))
    assert run["parity"]["pixel_agreement"] >= 0.999 and run["bento_tag"].startswith("aiaas-image-seg:")
    manifest = json.loads((Path(run["dataset_dir"]) / "manifest.json").read_text())
    assert (manifest["mean"], manifest["std"]) == ([0.5] * 3, [0.5] * 3)
    rows = cli("predict", "image-seg", str(root / "images"), "--model", run["onnx_path"]).stdout.splitlines()
    assert len(rows) == 40
