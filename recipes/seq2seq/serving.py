"""Torch-free serving half of seq2seq: a text -> source ids -> the encoder once and a decode loop over the decoder
graph with past keys/values (decode.py, the shared numpy search) -> the output text and its subword tokens.

The tokenizer and the decoder's sizes come from the model's metadata, so a served model needs only its two ONNX files.
Requests: a string, or {"text", "beam_size", "max_length"}; limits (serve.limits): max_chars (413), max_beam (422).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.scores import one_answer, one_prediction
from aiaas_recipes.common.text.requests import request_text, text_inputs
from aiaas_recipes.seq2seq import decode, tokens

SERVICE = "aiaas_recipes.seq2seq.service:Seq2SeqService"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "read_inputs", "to_row"]
DEFAULT_MAX_CHARS = 5000
DEFAULT_MAX_BEAM = 8
SOURCE_FIELDS = ("source", "src", "text", "input", "document")


@dataclass
class Source:
    ids: list[int]
    beam_size: int
    max_length: int


class Seq2SeqAdapter:
    """Encodes texts, decodes them greedily or by beam search, and writes the output text back."""

    def __init__(self, metadata: dict[str, Any], max_chars: int = DEFAULT_MAX_CHARS, max_beam: int = DEFAULT_MAX_BEAM):
        self.tokenizer = tokens.load(metadata["tokenizer"])
        self.spec = dict(metadata["decoder"])
        self.pad_id = int(self.spec.get("pad_id", tokens.PAD_ID))
        self.source_specials = bool(self.spec.get("source_specials", False))  # a hub model's end token on sources
        self.max_source = int(metadata["max_source_tokens"])
        self.max_chars, self.max_beam = int(max_chars), int(max_beam)

    def _setting(self, request: dict, name: str, default: int, most: int) -> int:
        value = request.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadInput(f"{name} must be a whole number, got {value!r}", status=422)
        if not 1 <= value <= most:
            raise BadInput(f"{name}={value} is outside 1..{most}", status=422)
        return value

    def decode(self, payload: Any) -> Source:
        """One text's source ids and decode settings; raises BadInput (413 for a text too long to encode)."""
        request = payload if isinstance(payload, dict) else {"text": payload}
        text = request_text(request.get("text"), self.max_chars)
        beam = self._setting(request, "beam_size", int(self.spec.get("beam_size", 1)), self.max_beam)
        width = int(self.spec["max_output"])
        length = self._setting(request, "max_length", width, width)
        ids = tokens.encode(self.tokenizer, [text], self.source_specials)[0]
        if len(ids) > self.max_source:
            raise BadInput(f"text of {len(ids)} tokens is above the model's limit of {self.max_source}", status=413)
        return Source(ids, beam, length)

    def batch(self, items: list[Source]) -> dict[str, np.ndarray]:
        """Feeds of one width (max_source_tokens), so the service's batcher can join requests; decode.run cuts the
        padding past the longest text off again."""
        ids = np.full((len(items), self.max_source), self.pad_id, dtype=np.int64)
        for row, item in enumerate(items):
            ids[row, : len(item.ids)] = item.ids
        return {
            "src_ids": ids,
            "src_mask": (ids != self.pad_id).astype(np.int64),
            "beam_size": np.asarray([i.beam_size for i in items], np.int64),
            "max_length": np.asarray([i.max_length for i in items], np.int64),
        }

    def run(self, model: Any, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return decode.run(model, feeds, self.spec)

    def postprocess(self, outputs: dict[str, np.ndarray], items: list[Source], k: int) -> list[dict]:
        """{"text", "tokens"} per item: the output text and its subword tokens."""
        return [
            {"text": tokens.decode(self.tokenizer, ids), "tokens": tokens.pieces(self.tokenizer, ids)}
            for ids in decode.sequences(outputs)
        ]


def build_adapter(metadata: dict[str, Any], max_chars: int = DEFAULT_MAX_CHARS, max_beam: int = DEFAULT_MAX_BEAM):
    """The adapter for seq2seq models; ``max_chars`` and ``max_beam`` come from `serve.limits`."""
    return Seq2SeqAdapter(metadata, max_chars=max_chars, max_beam=max_beam)


def http_request(name: str, payload: str, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one text: JSON."""
    return {"json": {"text": payload}}


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """`aiaas predict`'s record: the input, its output text and token count."""
    source = payload.get("text") if isinstance(payload, dict) else payload
    return {"input": name, "source": source, "text": prediction["text"], "tokens": len(prediction["tokens"])}


def read_inputs(paths: list[Path]) -> Iterator[tuple[str, Any]]:
    """(name, text) per input: a row of .csv/.tsv/.jsonl (its source column), else a line of a text file."""
    return text_inputs(paths, SOURCE_FIELDS, "source")
