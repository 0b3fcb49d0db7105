"""Torch-free serving half of recommend: a user id (or an item id) in, the top-k item ids with scores out.

The ONNX graph does the work (ids to rows, scores, seen items excluded, top-k; see graph.py), so a request
is only turned into three strings-and-flags columns here and the graph's best ``max_k`` cut to ``k``. An
unknown user gets the most popular items, marked ``"fallback": "popular"``. No torch, pandas or sklearn.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput, read_files

SERVICE = "aiaas_recipes.recommend.service:RecommendService"
MAX_ID_CHARS = 256
FALLBACK = "popular"


@dataclass(frozen=True)
class Query:
    user: str = ""
    item: str = ""  # an item query: items similar to this one
    exclude_seen: bool = True


def _id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{field} must be a non-empty string", status=422)
    if len(value) > MAX_ID_CHARS:
        raise BadInput(f"{field} is longer than {MAX_ID_CHARS} characters", status=422)
    return value.strip()


def _query(payload: dict[str, Any]) -> Query:
    if ("user" in payload) == ("item" in payload):
        raise BadInput("give either a user or an item", status=422)
    exclude = payload.get("exclude_seen", True)
    if not isinstance(exclude, bool):
        raise BadInput("exclude_seen must be true or false", status=422)
    if "item" in payload:
        return Query(item=_id(payload["item"], "item"))
    return Query(user=_id(payload["user"], "user"), exclude_seen=exclude)


class RecommendAdapter:
    """Queries to the graph's feeds; its top ``max_k`` to each query's answer."""

    def __init__(self, metadata: dict[str, Any]):
        self.max_k = int(metadata["max_k"])

    def decode(self, payload: Any) -> Query:
        """A user id, or {"user": id, "exclude_seen": bool} or {"item": id}; BadInput (422) otherwise."""
        if isinstance(payload, str):
            return Query(user=_id(payload, "user"))
        if isinstance(payload, dict):
            return _query(payload)
        raise BadInput(f"expected a user id or an object, got {type(payload).__name__}", status=422)

    def batch(self, items: list[Query]) -> dict[str, np.ndarray]:
        return {
            "user": np.asarray([q.user for q in items], dtype=object),
            "item": np.asarray([q.item for q in items], dtype=object),
            "exclude_seen": np.asarray([q.exclude_seen for q in items], dtype=bool),
        }

    def postprocess(self, outputs: dict[str, Any], items: list[Query], k: int) -> list[dict]:
        """Per query the best ``k`` (at most max_k) items, excluded ones (-inf) left out."""
        k = max(1, min(int(k), self.max_k))
        answers = []
        for query, ids, scores, known in zip(items, outputs["items"], outputs["scores"], outputs["known"]):
            keep = np.isfinite(scores)
            top = [{"item": str(i), "score": float(s)} for i, s in zip(ids[keep][:k], scores[keep][:k])]
            if query.item:
                answers.append({"item": query.item, "items": top if known else [], "found": bool(known)})
            else:
                answers.append({"user": query.user, "items": top, "fallback": None if known else FALLBACK})
        return answers


def build_adapter(metadata: dict[str, Any], **_: Any) -> RecommendAdapter:
    """The adapter for a model exported by recommend (no request limits beyond the id length and max_k)."""
    return RecommendAdapter(metadata)


def http_request(name: str, payload: Any, k: int) -> dict[str, Any]:
    """`predict --url`: one user per request."""
    body = dict(payload) if isinstance(payload, dict) else {"user": payload}
    return {"json": {**body, "k": k}}


def http_response(predictions: list[dict]) -> dict:
    return predictions[0]


def http_predictions(body: dict[str, Any]) -> list[dict]:
    return [body]


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """`aiaas predict`'s record: the input's name, the best item and its score, then the whole answer."""
    best = prediction["items"][0] if prediction["items"] else {"item": None, "score": None}
    return {"input": name, "top_item": best["item"], "top_score": best["score"], **prediction}


def read_inputs(paths: list[Path]) -> Iterator[tuple[str, Any]]:
    """One user id per non-empty line ("users.txt:3" names line 3); an unreadable file is one error."""
    for name, data in read_files(paths):
        if isinstance(data, Exception):
            yield name, data
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            yield name, BadInput("not UTF-8 text (one user id per line)")
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield f"{name}:{number}", line.strip()
