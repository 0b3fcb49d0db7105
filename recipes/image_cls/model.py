"""Networks for image-cls, built from `conf/model/*.yaml` through Hydra's instantiate."""

from __future__ import annotations

import torch
from torch import nn

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.vision.layers import conv_block


class SmallCNN(nn.Module):
    """Conv-BN-ReLU blocks with max-pooling, global average pooling and a linear head."""

    def __init__(self, num_classes: int, channels: list[int] = (32, 64, 128), dropout: float = 0.2):
        super().__init__()
        layers, in_ch = [], 3
        for out_ch in channels:
            # one flat Sequential, so that checkpoints keep their layer names (features.0, features.1, ...)
            layers += [*conv_block(in_ch, out_ch), nn.MaxPool2d(2)]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(in_ch, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    if hasattr(model, "fc"):
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    else:
        last = model.classifier[-1]
        model.classifier[-1] = nn.Linear(last.in_features, num_classes)
    return model


def torchvision_backbone(name: str, num_classes: int, pretrained: bool = False) -> nn.Module:
    """A torchvision classifier with a new head; ImageNet weights downloaded when online, else from the cache."""
    import torchvision

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise ConfigError(f"unknown torchvision model '{name}'")
    model = torchvision.models.get_model(name, weights=None)
    if pretrained:
        from aiaas_recipes.common.backbones.cache import imagenet_state

        model.load_state_dict(imagenet_state(name))
    return _replace_head(model, num_classes)
