"""torchvision backbones for the CenterNet-style detector (a config choice: conf/model/centernet_resnet18.yaml).

ImageNet weights come through common/backbones/cache.py: downloaded by torchvision when online, cache only offline.
"""

from __future__ import annotations

import torch
from torch import nn

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.backbones.cache import imagenet_state
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
            net.load_state_dict(imagenet_state(name))
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
