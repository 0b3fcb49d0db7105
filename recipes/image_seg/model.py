"""Networks for image-seg, built from `conf/model/*.yaml` (Hydra's instantiate; a timm encoder by `kind: timm`)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

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
            from aiaas_recipes.common.backbones.cache import cached_weights, mark_pretrained

            backbone = MobileNet_V3_Large_Weights.IMAGENET1K_V1
            path = cached_weights(backbone, "model.pretrained_backbone")  # torchvision then loads it from there
        self.net = lraspp_mobilenet_v3_large(weights=None, weights_backbone=backbone, num_classes=num_classes)
        if pretrained_backbone:
            mark_pretrained(self.net.backbone, path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)["out"]


class TimmSegmenter(nn.Module):
    """A timm encoder's maps (``features_only``, strides 2 to 32 for most CNNs) merged top-down FPN-style into its
    finest one, classified there and upsampled bilinearly to the input: (N, 3, H, W) -> (N, classes, H, W) logits.
    Any H, W works (every merge resizes to the finer map's own size)."""

    def __init__(self, num_classes: int, body: nn.Module, head: int = 32):
        super().__init__()
        self.body = body
        self.lateral = nn.ModuleList(nn.Conv2d(c, head, 1) for c in body.feature_info.channels())
        self.smooth = conv_block(head, head)
        self.classify = nn.Conv2d(head, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        levels = self.body(x)
        top = self.lateral[-1](levels[-1])
        for lateral, level in zip(reversed(self.lateral[:-1]), reversed(levels[:-1])):
            top = lateral(level) + F.interpolate(top, size=level.shape[-2:], mode="bilinear", align_corners=False)
        logits = self.classify(self.smooth(top))
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


def timm_segmenter(num_classes: int, model_cfg: Any, offline: bool = False) -> tuple[TimmSegmenter, Any]:
    """The segmenter on a timm encoder (model=fpn_timm), and what timm_models built (where its weights came from)."""
    from aiaas_recipes.common.backbones.timm_models import features

    built = features(model_cfg, offline=offline)
    return TimmSegmenter(num_classes, built.net, int(model_cfg.get("head", 32))), built
