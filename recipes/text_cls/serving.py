"""Torch-free serving half of text-cls: a string -> token ids -> top-k labels.

The tokenizer comes from the model's own metadata, so a served model needs nothing but model.onnx. The
HTTP body {"text": "..."} maps onto ``decode(str)``; ``read_inputs`` turns files given to `aiaas predict`
(CSV/TSV/JSONL with a text column, or plain text, one per line) into named texts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_recipes.common.scores import LabelAdapter, one_answer, one_prediction, to_row
from aiaas_recipes.common.text import hub_tokens, tokenizer
from aiaas_recipes.common.text.requests import request_text, text_inputs

SERVICE = "aiaas_recipes.text_cls.service:TextService"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "read_inputs", "to_row"]
DEFAULT_MAX_CHARS = 100_000  # longer inputs are refused: tokenizing them costs time and only max_length is used
TEXT_FIELDS = ("text", "sentence", "review", "comment", "content", "body", "message")


@dataclass
class Text:
    """One decoded input: its feeds (one row per ONNX input) and its token count before truncation."""

    feeds: dict[str, np.ndarray]
    tokens: int
    truncated: bool

    @property
    def ids(self) -> np.ndarray:
        return self.feeds["input_ids"]

    def extras(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "truncated": self.truncated}


class TextAdapter(LabelAdapter):
    """Tokenizes texts for a model exported by the text-cls recipe: with the recipe's own tokenizer, or a hub model's
    (metadata "hub": ids, attention mask and token types, tokenized by `tokenizers` from its tokenizer.json)."""

    def __init__(self, metadata: dict[str, Any], max_chars: int = DEFAULT_MAX_CHARS):
        self.labels = list(metadata["labels"])
        self.max_length = int(metadata["max_length"])
        hub = metadata.get("hub")
        self.hub = (
            hub_tokens.load(metadata["tokenizer"], self.max_length, hub["pad_id"], hub["inputs"]) if hub else None
        )
        self.tokenizer = None if hub else tokenizer.load(metadata["tokenizer"])
        self.max_chars = int(max_chars)

    def decode(self, payload: str) -> Text:
        """One text's feeds; raises BadInput for a non-string, empty or oversized text."""
        payload = request_text(payload, self.max_chars)
        if self.hub is not None:
            encoded = hub_tokens.encode(self.hub, [payload])
            feeds = hub_tokens.feeds(self.hub.inputs, encoded.ids, encoded.lengths, encoded.types)
        else:
            encoded = tokenizer.encode(self.tokenizer, [payload], self.max_length)
            feeds = {"input_ids": encoded.ids}
        return Text(
            {name: row[0] for name, row in feeds.items()}, int(encoded.full_lengths[0]), bool(encoded.truncated[0])
        )

    def batch(self, items: list[Text]) -> dict[str, np.ndarray]:
        """{"input_ids": (N, max_length) int64, ...}. Always the full max_length: batches from several requests can
        then be concatenated (the service's adaptive batching), and the models ignore padding anyway."""
        return {name: np.stack([item.feeds[name] for item in items]) for name in items[0].feeds}

    def extras(self, item: Text) -> dict[str, Any]:
        """Fields reported with the prediction: token count and whether the text was truncated."""
        return item.extras()


def build_adapter(metadata: dict[str, Any], max_chars: int = DEFAULT_MAX_CHARS) -> TextAdapter:
    """The adapter for text-cls models; ``max_chars`` comes from `serve.limits`."""
    if metadata.get("text_input"):  # model=tfidf: the graph takes the text itself (tfidf_serving.py)
        from aiaas_recipes.text_cls.tfidf_serving import RawTextAdapter

        return RawTextAdapter(metadata, max_chars)
    return TextAdapter(metadata, max_chars=max_chars)


def http_request(name: str, payload: str, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one text: JSON."""
    return {"json": {"text": payload, "k": k}}


def read_inputs(paths: list[Path]) -> Iterator[tuple[str, Any]]:
    """(name, text) per input: a row of .csv/.tsv/.jsonl (its text column), else a line of a text file."""
    return text_inputs(paths, TEXT_FIELDS, "text")
