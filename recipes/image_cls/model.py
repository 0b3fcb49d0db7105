"""Networks for image-cls, built from `conf/model/*.yaml` through Hydra's instantiate."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from aiaas_cli.errors import ConfigError, UserError


class SmallCNN(nn.Module):
    """Conv-BN-ReLU blocks with max-pooling, global average pooling and a linear head."""

    def __init__(self, num_classes: int, channels: list[int] = (32, 64, 128), dropout: float = 0.2):
        super().__init__()
        layers, in_ch = [], 3
        for out_ch in channels:
            layers += [
                nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_ch),
                nn.ReLU(inplace=True),
                nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_ch),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(in_ch, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def cached_weights(weights) -> Path:
    """Where torch hub keeps ``weights``; an error naming the path when they are not there (nothing is downloaded)."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    if not path.exists():
        raise UserError(
            f"pretrained weights {weights} are not cached at {path}",
            "copy the file there from a machine with internet, or set model.pretrained=false",
        )
    return path


def _replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    if hasattr(model, "fc"):
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    else:
        last = model.classifier[-1]
        model.classifier[-1] = nn.Linear(last.in_features, num_classes)
    return model


def torchvision_backbone(name: str, num_classes: int, pretrained: bool = False) -> nn.Module:
    """A torchvision classifier with a new head; ImageNet weights only from the local cache."""
    import torchvision

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise ConfigError(f"unknown torchvision model '{name}'")
    model = torchvision.models.get_model(name, weights=None)
    if pretrained:
        weights = torchvision.models.get_model_weights(name).DEFAULT
        state = torch.load(cached_weights(weights), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    return _replace_head(model, num_classes)
