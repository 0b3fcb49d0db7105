"""Training targets and losses of the CenterNet-style detector: Gaussian centre heatmaps, focal loss, L1 boxes."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from aiaas_recipes.image_det.model import STRIDE


def heatmaps(boxes: list[torch.Tensor], labels: list[torch.Tensor], classes: int, cells: int):
    """Per image: the (C, h, w) target heatmap, and each object's centre cell, offset and log size (in cells)."""
    n = len(boxes)
    target = torch.zeros(n, classes, cells, cells)
    ys, xs = torch.meshgrid(torch.arange(cells).float(), torch.arange(cells).float(), indexing="ij")
    where, regress = [], []
    for i, (image_boxes, image_labels) in enumerate(zip(boxes, labels)):
        for box, label in zip(image_boxes / STRIDE, image_labels):
            centre = torch.stack([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]).clamp(0, cells - 1e-3)
            size = torch.stack([box[2] - box[0], box[3] - box[1]]).clamp(min=1e-2)
            cell = centre.floor()
            sigma = (size / 6).clamp(min=0.5)  # a spread that grows with the object, as CenterNet's radius
            blob = torch.exp(-((xs - cell[0]) ** 2) / (2 * sigma[0] ** 2) - ((ys - cell[1]) ** 2) / (2 * sigma[1] ** 2))
            target[i, label] = torch.maximum(target[i, label], blob)
            where.append((i, int(cell[1]), int(cell[0])))
            regress.append(torch.cat([centre - cell, size.log()]))
    return target, where, regress


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, normalised by the number of objects."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    positive = target.eq(1).float()
    pos = torch.log(p) * (1 - p) ** 2 * positive
    neg = torch.log(1 - p) * p**2 * (1 - target) ** 4 * (1 - positive)
    return -(pos.sum() + neg.sum()) / positive.sum().clamp(min=1)


def detection_loss(net, x: torch.Tensor, boxes: list, labels: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, heatmap, box) losses of ``net`` on one batch."""
    logits, regress = net.raw(x)
    target, where, wanted = heatmaps(boxes, labels, logits.shape[1], logits.shape[-1])
    heat = focal_loss(logits, target.to(logits.device))
    if not where:
        return heat, heat.detach(), heat.new_zeros(())
    n, y, x_ = (torch.as_tensor(v, device=logits.device) for v in zip(*where))
    picked = regress[n, :, y, x_]  # (objects, 4)
    wanted = torch.stack(wanted).to(picked.device)
    box = F.l1_loss(torch.sigmoid(picked[:, :2]), wanted[:, :2]) + F.l1_loss(picked[:, 2:], wanted[:, 2:])
    return heat + box, heat.detach(), box.detach()
