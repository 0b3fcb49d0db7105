"""torchvision's pretrained weights: downloaded through torchvision into the torch hub cache when online, the cache only
when offline; a checkpoint rebuilds its network without them. No test reaches the network: the online path downloads
from a file:// URL (torch.hub's own download code, the same as for https://download.pytorch.org)."""

from __future__ import annotations

import pytest
import torch

from aiaas_cli import recipes
from aiaas_cli.errors import UserError
from aiaas_recipes.common.backbones.cache import cached_weights
from aiaas_recipes.common.backbones.pretrained import for_checkpoint


@pytest.fixture()
def empty_hub(tmp_path, monkeypatch):
    """An empty torch hub cache, offline (as offline=true or HF_HUB_OFFLINE=1)."""
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return hub


def test_weights_are_found_in_the_cache_or_named_in_one_error(empty_hub):
    from torchvision.models import ResNet18_Weights

    weights = ResNet18_Weights.DEFAULT
    with pytest.raises(UserError, match="are not cached at .* and offline mode is on") as caught:
        cached_weights(weights, "model.pretrained_backbone")
    assert "set model.pretrained_backbone=false" in caught.value.one_line()
    path = empty_hub / "checkpoints" / weights.url.rsplit("/", 1)[-1]
    path.parent.mkdir(parents=True)
    path.write_bytes(b"weights")
    assert cached_weights(weights) == path


def _file_weights(url: str):
    """torchvision weights whose URL is a local file: torchvision's download code runs without a network."""
    from torchvision.models._api import Weights, WeightsEnum

    class Tiny(WeightsEnum):
        V1 = Weights(url=url, transforms=None, meta={})

    return Tiny.V1


def test_online_weights_are_downloaded_through_torchvision_into_the_hub_cache(empty_hub, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    served = tmp_path / "served" / "tiny.pth"
    served.parent.mkdir()
    torch.save({"w": torch.arange(3.0)}, served)
    path = cached_weights(_file_weights(served.as_uri()))
    assert path == empty_hub / "checkpoints" / "tiny.pth"  # where torchvision (and the offline path) looks
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(3.0))
    served.unlink()
    assert cached_weights(_file_weights(served.as_uri())) == path  # read from the cache from now on


def test_a_failed_download_is_one_line_naming_the_path(empty_hub, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(UserError, match="are not cached at .*missing.pth and the download failed") as caught:
        cached_weights(_file_weights((tmp_path / "missing.pth").as_uri()))
    assert "\n" not in caught.value.one_line()


def test_offline_switches_are_on_inside_and_as_before_after(monkeypatch):
    import os

    import huggingface_hub.constants

    from aiaas_recipes.common.backbones.hub import offline_switches

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    with offline_switches({"offline": False}):
        assert "HF_HUB_OFFLINE" not in os.environ
    with offline_switches({"offline": True}):
        assert os.environ["HF_HUB_OFFLINE"] == os.environ["TRANSFORMERS_OFFLINE"] == "1"
        assert huggingface_hub.constants.is_offline_mode()  # read at import: set on the module too
    assert "HF_HUB_OFFLINE" not in os.environ and os.environ["TRANSFORMERS_OFFLINE"] == "0"
    assert not huggingface_hub.constants.is_offline_mode()


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


def test_imagenet_weights_are_marked_pretrained_for_fine_tuning(empty_hub):
    """model.pretrained=true: the loaded weights become the module's pretrained_names (what finetune.freeze_epochs and
    finetune.backbone_lr act on) and its source; a head replaced after loading is new."""
    import torchvision
    from torchvision.models import ResNet18_Weights

    from aiaas_recipes.common.backbones.hub import file_sha256
    from aiaas_recipes.common.module import ConfiguredModule
    from aiaas_recipes.image_cls.model import torchvision_backbone
    from aiaas_recipes.image_det.backbones import ResNetBackbone

    path = empty_hub / "checkpoints" / ResNet18_Weights.DEFAULT.url.rsplit("/", 1)[-1]
    path.parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), path)  # stands in for the ImageNet file
    classifier = ConfiguredModule(torchvision_backbone("resnet18", 3, pretrained=True), None, None, {})
    assert "net.conv1.weight" in classifier.pretrained_names and "net.layer4.1.bn2.bias" in classifier.pretrained_names
    assert not any(name.startswith("net.fc.") for name in classifier.pretrained_names)  # the new 3-class head
    assert classifier.aiaas_source == {"kind": "torchvision", "name": str(path.resolve()), "sha256": file_sha256(path)}
    detector = ConfiguredModule(torch.nn.Sequential(ResNetBackbone("resnet18", pretrained=True)), None, None, {})
    assert "net.0.stem.0.weight" in detector.pretrained_names  # conv1, kept under the detector's own name
    assert not hasattr(ConfiguredModule(torchvision_backbone("resnet18", 3), None, None, {}), "pretrained_names")
