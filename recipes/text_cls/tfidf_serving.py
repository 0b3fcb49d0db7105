"""Serving model=tfidf (torch-free): the graph takes the text itself, normalised here exactly as in training.

The text-cls serving module hands a model over to `RawTextAdapter` when its metadata says ``"text_input": true``
(an ONNX input of strings instead of token ids); the rest (labels, top-k, request checks) is the text adapter's.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from aiaas_recipes.common.scores import LabelAdapter
from aiaas_recipes.common.text.requests import request_text

INPUT_NAME = "text"
# The graph's Tokenizer pads the token rows of a batch to the longest with this string: a noncharacter that
# `normalise` removes, so no n-gram of the vocabulary holds it. (skl2onnx pads with "#", and the char n-grams of a
# tweet's end and the padding, ".#" or "(#", are in the vocabulary of hashtags: a text's features then depended on
# the longer texts batched with it.)
PAD = "\uffff"
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, every run of whitespace one space, no PAD. Done before the graph, in training and serving alike:
    ONNX Runtime's StringNormalizer needs an installed locale to lower case, and its Tokenizer's "." skips newlines."""
    return _SPACES.sub(" ", text.lower().replace(PAD, " ")).strip()


class RawTextAdapter(LabelAdapter):
    """Texts to the graph's string input, logits to labels."""

    def __init__(self, metadata: dict[str, Any], max_chars: int):
        self.labels = list(metadata["labels"])
        self.max_chars = int(max_chars)

    def decode(self, payload: Any) -> str:
        """The normalised text; raises BadInput for a non-string, empty or oversized text."""
        return normalise(request_text(payload, self.max_chars))

    def batch(self, items: list[str]) -> dict[str, np.ndarray]:
        return {INPUT_NAME: np.asarray(items, dtype=object).reshape(-1, 1)}

    def extras(self, item: str) -> dict[str, Any]:
        return {"truncated": False}  # TF-IDF reads the whole text
