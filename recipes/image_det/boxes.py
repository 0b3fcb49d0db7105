"""Torch-free box post-processing: the model's peak scores and boxes -> detections. Used by evaluation, export
parity, `aiaas predict` and the Bento alike, so every path turns the same outputs into the same boxes.

NMS runs here rather than in the ONNX graph: the exporters' NonMaxSuppression takes fixed per-class limits and
pads its output, and the peaks the model keeps (3x3 max-pool) leave few boxes, so numpy is both simpler and fast.
"""

from __future__ import annotations

import numpy as np

PRE_NMS = 300  # highest-scoring cells looked at per image


def iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of one (4,) box with (K, 4) boxes."""
    w = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Indices kept by class-wise greedy NMS, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    suppressed = np.zeros(len(order), bool)
    for rank, i in enumerate(order):
        if suppressed[rank]:
            continue
        keep.append(int(i))
        rest = order[rank + 1 :]
        hit = (labels[rest] == labels[i]) & (iou(boxes[i], boxes[rest]) > threshold)
        suppressed[rank + 1 :] |= hit
    return np.asarray(keep, np.int64)


def detect(
    scores: np.ndarray, boxes: np.ndarray, threshold: float, max_detections: int, nms_iou: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's (C, h, w) peak scores and (4, h, w) boxes -> (K, 4) boxes, (K,) scores, (K,) labels, best first."""
    classes = scores.shape[0]
    flat = scores.reshape(classes, -1)
    label, cell = np.nonzero(flat > threshold)
    values = flat[label, cell]
    top = np.argsort(-values, kind="stable")[:PRE_NMS]
    label, cell, values = label[top], cell[top], values[top]
    picked = boxes.reshape(4, -1)[:, cell].T.astype(np.float32)
    keep = nms(picked, values, label, nms_iou)[:max_detections]
    return picked[keep], values[keep].astype(np.float32), label[keep].astype(np.int64)


def to_original(boxes: np.ndarray, input_size: int, width: int, height: int) -> np.ndarray:
    """Boxes in the model's square input -> the image's own pixels, inside the image."""
    scaled = boxes * np.float32([width / input_size, height / input_size] * 2)
    return np.clip(scaled, 0, np.float32([width, height, width, height]))


def detections_of(outputs: dict, threshold: float, max_detections: int, nms_iou: float) -> list[tuple]:
    """Per image of a batch of model outputs: (boxes, scores, labels) in the model's input pixels."""
    scores, boxes = np.asarray(outputs["scores"]), np.asarray(outputs["boxes"])
    return [detect(s, b, threshold, max_detections, nms_iou) for s, b in zip(scores, boxes)]
