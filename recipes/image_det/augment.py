"""Training augmentation that keeps boxes right: flips, a random zoom in (crop) or out (pad), colour jitter.

Works on one batch of (N, 3, S, S) images in [0, 1] with per-image (K, 4) boxes in pixels and (K,) labels.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

MIN_VISIBLE = 0.4  # a box cut by the crop to less than this share of its area is dropped


def flip_boxes(boxes: torch.Tensor, size: int, axis: int) -> torch.Tensor:
    """Boxes of an image mirrored along x (axis 0) or y (axis 1)."""
    out = boxes.clone()
    out[:, axis], out[:, axis + 2] = size - boxes[:, axis + 2], size - boxes[:, axis]
    return out


def zoom(image: torch.Tensor, boxes: torch.Tensor, labels: torch.Tensor, factor: float, where: torch.Tensor):
    """``image`` scaled by ``factor`` then cropped (factor > 1) or padded with grey (< 1) back to its size;
    ``where`` in [0, 1]^2 places the window. Boxes follow; those mostly cut off are dropped with their labels."""
    size = image.shape[-1]
    scaled = round(size * factor)
    resized = F.interpolate(image[None], size=(scaled, scaled), mode="bilinear", align_corners=False)[0]
    shift = (where * abs(scaled - size)).round().long()
    if scaled >= size:
        out = resized[:, shift[1] : shift[1] + size, shift[0] : shift[0] + size]
        moved = boxes * (scaled / size) - shift.repeat(2)
    else:
        out = torch.full_like(image, 0.5)
        out[:, shift[1] : shift[1] + scaled, shift[0] : shift[0] + scaled] = resized
        moved = boxes * (scaled / size) + shift.repeat(2)
    clipped = moved.clamp(0, size)
    area = (moved[:, 2] - moved[:, 0]) * (moved[:, 3] - moved[:, 1])
    kept = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    keep = (kept >= MIN_VISIBLE * area) & (kept > 1)
    return out, clipped[keep], labels[keep]


def augment(x: torch.Tensor, boxes: list, labels: list, cfg) -> tuple[torch.Tensor, list, list]:
    """Random flips, zoom and colour per image of a batch, as ``cfg`` (data.augment) asks."""
    size, boxes, labels = x.shape[-1], list(boxes), list(labels)
    for axis, enabled in ((0, cfg.hflip), (1, cfg.vflip)):
        if not enabled:
            continue
        for i in torch.nonzero(torch.rand(len(x)) < 0.5).flatten().tolist():
            x[i] = x[i].flip(-1 if axis == 0 else -2)
            boxes[i] = flip_boxes(boxes[i], size, axis)
    if cfg.get("scale", 0):
        for i in torch.nonzero(torch.rand(len(x)) < 0.5).flatten().tolist():
            factor = 1 + float(torch.empty(1).uniform_(-cfg.scale, cfg.scale))
            x[i], boxes[i], labels[i] = zoom(x[i], boxes[i], labels[i], factor, torch.rand(2))
    if cfg.colour:  # brightness and contrast per image: the boxes stay where they are
        scale = 1 + (torch.rand(len(x), 1, 1, 1) - 0.5) * 2 * cfg.colour
        shift = (torch.rand(len(x), 1, 1, 1) - 0.5) * cfg.colour
        x = (x * scale + shift).clamp_(0, 1)
    return x, boxes, labels
