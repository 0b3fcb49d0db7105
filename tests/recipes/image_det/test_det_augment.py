"""image-det augmentation keeps boxes on their objects: flips and zoom (crop or pad) move boxes with the pixels."""

from __future__ import annotations

import torch
from omegaconf import OmegaConf

from aiaas_recipes.image_det.augment import augment, flip_boxes, zoom

SIZE = 32


def square(x1: int, y1: int, x2: int, y2: int) -> tuple[torch.Tensor, torch.Tensor]:
    image = torch.zeros(3, SIZE, SIZE)
    image[:, y1:y2, x1:x2] = 1.0
    return image, torch.tensor([[x1, y1, x2, y2]], dtype=torch.float32)


def inside(image: torch.Tensor, box: torch.Tensor) -> float:
    """Mean brightness well inside ``box`` (a pixel in from each side)."""
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    return float(image[:, y1 + 1 : y2 - 1, x1 + 1 : x2 - 1].mean())


def test_flip_moves_the_box_with_the_object():
    image, boxes = square(2, 4, 10, 12)
    flipped = flip_boxes(boxes, SIZE, 0)
    assert flipped.tolist() == [[22, 4, 30, 12]] and inside(image.flip(-1), flipped[0]) == 1.0
    assert flip_boxes(boxes, SIZE, 1).tolist() == [[2, 20, 10, 28]]


def test_zoom_in_and_out_keep_the_box_on_the_object():
    image, boxes = square(8, 8, 20, 18)
    labels = torch.tensor([2])
    for factor, where in ((1.5, torch.tensor([0.3, 0.6])), (0.6, torch.tensor([1.0, 0.0])), (1.0, torch.zeros(2))):
        out, moved, kept = zoom(image, boxes, labels, factor, where)
        assert out.shape == image.shape and kept.tolist() == [2]
        assert inside(out, moved[0]) > 0.95, factor
        width = float(moved[0, 2] - moved[0, 0])
        assert abs(width - 12 * factor) < 1.0


def test_zoom_drops_a_box_cut_off_by_the_crop():
    image, boxes = square(0, 0, 6, 6)
    out, moved, kept = zoom(image, boxes, torch.tensor([1]), 1.5, torch.ones(2))  # window at the bottom right
    assert len(moved) == 0 and len(kept) == 0


def test_augment_keeps_boxes_and_labels_paired():
    torch.manual_seed(0)
    cfg = OmegaConf.create({"hflip": True, "vflip": True, "scale": 0.3, "colour": 0.0})
    images, boxes, labels = [], [], []
    for i in range(16):
        image, box = square(4 + i % 5, 6, 16 + i % 5, 20)
        images.append(image)
        boxes.append(box)
        labels.append(torch.tensor([i % 3]))
    x, out_boxes, out_labels = augment(torch.stack(images), boxes, labels, cfg)
    for image, box, label in zip(x, out_boxes, out_labels):
        assert len(box) == len(label) == 1 and inside(image, box[0]) > 0.95
