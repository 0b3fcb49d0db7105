"""Logits to labelled scores (numpy only): the post-processing every classification adapter shares."""

from __future__ import annotations

from typing import Any

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def top_k(probabilities: np.ndarray, labels: list[str], k: int) -> list[list[dict]]:
    """Per row: the k best labels with their scores, best first."""
    k = max(1, min(k, len(labels)))
    order = np.argsort(-probabilities, axis=-1)[:, :k]
    return [[{"label": labels[j], "score": float(row[j])} for j in idx] for row, idx in zip(probabilities, order)]


class LabelAdapter:
    """The output half of every classification adapter: logits -> top-k labels, plus the item's extras."""

    labels: list[str]

    def extras(self, item: Any) -> dict[str, Any]:
        """Fields reported with an item's prediction (none by default)."""
        return {}

    def postprocess(self, outputs: dict[str, np.ndarray], items: list[Any], k: int) -> list[dict]:
        tops = top_k(softmax(np.asarray(outputs["logits"], dtype=np.float32)), self.labels, k)
        return [{"predictions": top, **self.extras(item)} for top, item in zip(tops, items, strict=True)]


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """`aiaas predict`'s record for a classification: the best label and score first, then the top k."""
    top = prediction["predictions"]
    rest = {key: value for key, value in prediction.items() if key != "predictions"}
    return {"input": name, "label": top[0]["label"], "score": top[0]["score"], "topk": top, **rest}


def one_prediction(body: dict) -> list[dict]:
    """A service answer that is one item's prediction, as the list `predict --url` expects."""
    return [body]


def one_answer(predictions: list[dict]) -> dict:
    """The body a one-item `/predict` answers: that item's prediction itself."""
    return predictions[0]
