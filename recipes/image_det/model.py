"""A small anchor-free detector (CenterNet-style) trained from scratch, built from `conf/model/*.yaml`.

The network predicts, on a grid of stride 4, a score per class (the chance that an object's centre lies in that
cell) and the box of that object. ``forward`` returns what ONNX exports: scores kept only at local peaks (a 3x3
max-pool, CenterNet's stand-in for NMS) and the boxes in input pixels. Picking the top peaks, the class-wise NMS
and the scale back to the image's own pixels stay in numpy (boxes.py): shared by evaluation, predict and serving.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

STRIDE = 4
MAX_LOG_SIZE = 6.0  # exp(6) * 4 = 1600 pixels: the largest box side the head can express


def _conv(in_ch: int, out_ch: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class SmallBackbone(nn.Module):
    """A plain CNN halving the input len(channels) - 1 times; its maps from stride 4 on feed the neck."""

    def __init__(self, channels: list[int]):
        super().__init__()
        channels = list(channels)
        if len(channels) < 3:
            raise ValueError("model.channels needs at least 3 levels (the output has stride 4)")
        self.stem = _conv(3, channels[0])
        self.down = nn.ModuleList(_conv(a, b, stride=2) for a, b in zip(channels[:-1], channels[1:]))
        self.out_channels = channels[2:]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        levels = [self.stem(x)]
        for block in self.down:
            levels.append(block(levels[-1]))
        return levels[2:]


class CenterNet(nn.Module):
    """A backbone (maps at strides 4, 8, ...), upsampled with skips back to stride 4 (FPN-like), then two heads.

    ``score_threshold``, ``nms_iou`` and ``max_detections`` are not layers: they ride along into the checkpoint
    and the exported model's metadata, where the numpy post-processing reads them.
    """

    def __init__(
        self,
        num_classes: int,
        image_size: int,
        channels: list[int] = (16, 32, 48, 64),
        head: int = 32,
        score_threshold: float = 0.3,
        nms_iou: float = 0.5,
        max_detections: int = 100,
        backbone: nn.Module | None = None,
    ):
        super().__init__()
        self.score_threshold, self.nms_iou, self.max_detections = score_threshold, nms_iou, max_detections
        self.backbone = backbone if backbone is not None else SmallBackbone(channels)
        self.lateral = nn.ModuleList(nn.Conv2d(c, head, 1) for c in self.backbone.out_channels)
        self.smooth = _conv(head, head)
        self.heatmap = nn.Sequential(_conv(head, head), nn.Conv2d(head, num_classes, 1))
        self.regress = nn.Sequential(_conv(head, head), nn.Conv2d(head, 4, 1))
        nn.init.constant_(self.heatmap[-1].bias, -2.19)  # start at a 10% score: CenterNet's focal-loss prior
        cells = image_size // STRIDE
        ys, xs = torch.meshgrid(torch.arange(cells), torch.arange(cells), indexing="ij")
        self.register_buffer("grid", torch.stack([xs, ys]).float()[None], persistent=False)

    def raw(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Heatmap logits (N, C, S/4, S/4) and box terms (N, 4, S/4, S/4): centre offset and log size, in cells."""
        levels = self.backbone(x)
        top = self.lateral[-1](levels[-1])
        for lateral, level in zip(reversed(self.lateral[:-1]), reversed(levels[:-1])):
            top = F.interpolate(top, size=level.shape[-2:], mode="nearest") + lateral(level)
        features = self.smooth(top)
        return self.heatmap(features), self.regress(features)

    def decode(self, regress: torch.Tensor) -> torch.Tensor:
        """(N, 4, h, w) box terms -> x1, y1, x2, y2 in input pixels."""
        centre = (self.grid + torch.sigmoid(regress[:, :2])) * STRIDE
        half = torch.exp(regress[:, 2:].clamp(max=MAX_LOG_SIZE)) * (STRIDE / 2)
        return torch.cat([centre - half, centre + half], dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, regress = self.raw(x)
        scores = torch.sigmoid(logits)
        peaks = F.max_pool2d(scores, 3, stride=1, padding=1)
        return scores * (scores >= peaks).to(scores.dtype), self.decode(regress)
