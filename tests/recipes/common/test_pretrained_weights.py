"""Pretrained weights come from the local cache only, and a checkpoint rebuilds its network without them."""

from __future__ import annotations

import pytest
import torch

from aiaas_cli import recipes
from aiaas_cli.errors import UserError
from aiaas_recipes.common.backbones.cache import cached_weights
from aiaas_recipes.common.backbones.pretrained import for_checkpoint


@pytest.fixture()
def empty_hub(tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    return hub


def test_weights_are_found_in_the_cache_or_named_in_one_error(empty_hub):
    from torchvision.models import ResNet18_Weights

    weights = ResNet18_Weights.DEFAULT
    with pytest.raises(UserError, match="are not cached at") as caught:
        cached_weights(weights, "model.pretrained_backbone")
    assert "set model.pretrained_backbone=false" in caught.value.one_line()
    path = empty_hub / "checkpoints" / weights.url.rsplit("/", 1)[-1]
    path.parent.mkdir(parents=True)
    path.write_bytes(b"weights")
    assert cached_weights(weights) == path


def test_only_the_pretrained_flags_are_turned_off():
    assert for_checkpoint({"_target_": "a.B", "pretrained": True, "head": 8}) == {
        "_target_": "a.B",
        "pretrained": False,
        "head": 8,
    }
    assert for_checkpoint({"_target_": "a.B", "pretrained_backbone": True}) == {
        "_target_": "a.B",
        "pretrained_backbone": False,
    }
    assert for_checkpoint({"_target_": "a.B", "channels": [4, 8]}) == {"_target_": "a.B", "channels": [4, 8]}


# a model config per image recipe that starts from ImageNet weights, as `model.pretrained*=true` writes it
TRAINED_FROM_IMAGENET = {
    "image-cls": {
        "_target_": "aiaas_recipes.image_cls.model.torchvision_backbone",
        "name": "mobilenet_v3_small",
        "pretrained": True,
    },
    "image-seg": {"_target_": "aiaas_recipes.image_seg.model.TorchvisionSegmenter", "pretrained_backbone": True},
    "image-det": {
        "_target_": "aiaas_recipes.image_det.backbones.centernet_resnet",
        "name": "resnet18",
        "pretrained": True,
        "head": 8,
    },
}


@pytest.mark.parametrize("recipe_name", list(TRAINED_FROM_IMAGENET))
def test_a_checkpoint_trained_from_pretrained_weights_loads_without_them(recipe_name, empty_hub, tmp_path):
    """Issue 23: loading an image-seg run trained with model.pretrained_backbone=true looked for the cached file."""
    recipe, model_cfg = recipes.load(recipe_name), TRAINED_FROM_IMAGENET[recipe_name]
    meta = {"recipe": recipe_name, "classes": ["a", "b", "c"], "image_size": 32, "mean": [0.5] * 3, "std": [0.2] * 3}
    meta["model"] = model_cfg
    with pytest.raises(UserError, match="are not cached at"):
        recipe.build_network(model_cfg, meta)  # training from ImageNet weights needs the file...
    trained = recipe.build_network(for_checkpoint(model_cfg), meta)
    state = {f"net.{name}": value for name, value in trained.state_dict().items()}
    torch.save({"state_dict": state, "aiaas": meta}, tmp_path / "best.ckpt")
    network, loaded_meta = recipe.load_model(tmp_path / "best.ckpt")  # ...loading its checkpoint does not
    assert loaded_meta["model"] == model_cfg
    assert all(torch.equal(value, trained.state_dict()[name]) for name, value in network.state_dict().items())
