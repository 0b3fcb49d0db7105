"""Networks for image-seg, built from `conf/model/*.yaml` through Hydra's instantiate."""

from __future__ import annotations

import torch
from torch import nn

from aiaas_recipes.common.vision.layers import conv_block


class UNet(nn.Module):
    """A small U-Net: ``channels`` per level, max-pool down, transposed convolution up, skip connections.

    The input's sides must be multiples of 2 ** (len(channels) - 1); the output is (N, classes, H, W) logits.
    """

    def __init__(self, num_classes: int, channels: list[int] = (16, 32, 64)):
        super().__init__()
        channels = list(channels)
        self.down = nn.ModuleList()
        in_ch = 3
        for out_ch in channels:
            self.down.append(conv_block(in_ch, out_ch))
            in_ch = out_ch
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for out_ch in reversed(channels[:-1]):
            self.up.append(nn.ConvTranspose2d(in_ch, out_ch, 2, stride=2))
            self.merge.append(conv_block(2 * out_ch, out_ch))
            in_ch = out_ch
        self.head = nn.Conv2d(in_ch, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips[:-1])):
            x = merge(torch.cat([up(x), skip], dim=1))
        return self.head(x)


class TorchvisionSegmenter(nn.Module):
    """torchvision's LR-ASPP (MobileNetV3-Large backbone): (N, 3, H, W) -> (N, classes, H, W) logits.

    torchvision's segmentation models answer a dict; the exported graph needs the tensor. The backbone's ImageNet
    weights (``pretrained_backbone``) come through common/backbones/cache.py (downloaded when online, the cache only
    when offline); the head always starts fresh, since its classes are the user's.
    """

    def __init__(self, num_classes: int, pretrained_backbone: bool = False):
        super().__init__()
        from torchvision.models import MobileNet_V3_Large_Weights
        from torchvision.models.segmentation import lraspp_mobilenet_v3_large

        backbone = None
        if pretrained_backbone:
            from aiaas_recipes.common.backbones.cache import cached_weights

            backbone = MobileNet_V3_Large_Weights.IMAGENET1K_V1
            cached_weights(backbone, "model.pretrained_backbone")  # torchvision then loads it from there: no download
        self.net = lraspp_mobilenet_v3_large(weights=None, weights_backbone=backbone, num_classes=num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)["out"]
