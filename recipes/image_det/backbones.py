"""Pretrained backbones for the CenterNet-style detector (config choices): torchvision's ResNets
(conf/model/centernet_resnet18.yaml; ImageNet weights through common/backbones/cache.py: downloaded by torchvision when
online, cache only offline) and any timm model with maps at strides 4, 8 and 16 (conf/model/centernet_timm.yaml;
through common/backbones/timm_models.py).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.backbones.cache import load_imagenet
from aiaas_recipes.image_det.model import CenterNet

RESNETS = ("resnet18", "resnet34", "resnet50")


class ResNetBackbone(nn.Module):
    """torchvision's ResNet up to layer3: maps at strides 4, 8 and 16."""

    def __init__(self, name: str = "resnet18", pretrained: bool = False):
        super().__init__()
        import torchvision

        if name not in RESNETS:
            raise ConfigError(f"model.name={name} is not one of {', '.join(RESNETS)}")
        net = torchvision.models.get_model(name, weights=None)
        if pretrained:
            load_imagenet(net, name, keeper=self)  # self keeps net's stem and layers
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layers = nn.ModuleList([net.layer1, net.layer2, net.layer3])
        self.out_channels = [c * _expansion(net) for c in (64, 128, 256)]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        levels, x = [], self.stem(x)
        for layer in self.layers:
            x = layer(x)
            levels.append(x)
        return levels


def _expansion(net: nn.Module) -> int:
    return 4 if type(net.layer1[0]).__name__ == "Bottleneck" else 1


def centernet_resnet(
    num_classes: int, image_size: int, name: str = "resnet18", pretrained: bool = False, head: int = 64, **post
) -> CenterNet:
    """The detector on a torchvision ResNet; ``post``: score_threshold, nms_iou, max_detections."""
    return CenterNet(num_classes, image_size, head=head, backbone=ResNetBackbone(name, pretrained), **post)


class TimmBackbone(nn.Module):
    """A timm model's feature maps at strides 4, 8 and 16 (``features_only``), in the order the neck takes them."""

    def __init__(self, body: nn.Module, name: str):
        super().__init__()
        strides = body.feature_info.reduction()
        if strides != [4, 8, 16]:
            raise ConfigError(f"timm model {name} gives feature maps at strides {strides}, not 4, 8 and 16",
                              "pick a convolutional timm model (resnet*, mobilenetv3_*, efficientnet_*)")  # fmt: skip
        self.body = body
        self.out_channels = body.feature_info.channels()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return list(self.body(x))


def centernet_timm(num_classes: int, image_size: int, model_cfg: Any, offline: bool = False) -> tuple[CenterNet, Any]:
    """The detector on a timm backbone (model=centernet_timm), and what timm_models built (where its weights came
    from); the rest of ``model_cfg`` is CenterNet's: head, score_threshold, nms_iou, max_detections."""
    from aiaas_recipes.common.backbones.timm_models import features

    built = features(model_cfg, out_indices=(1, 2, 3), offline=offline)
    rest = {k: v for k, v in model_cfg.items() if k in ("head", "score_threshold", "nms_iou", "max_detections")}
    backbone = TimmBackbone(built.net, str(model_cfg.get("name")))
    return CenterNet(num_classes, image_size, backbone=backbone, **rest), built
