"""Torch-free serving half of token-cls: a text -> sub-token rows -> tags per word -> entities with offsets.

The tokenizer comes from the model's own metadata, so a served model needs nothing but model.onnx. Offsets
are character (code point) offsets into the text exactly as sent: ``text[start:end]`` is the entity. The
HTTP body {"text": "..."} maps onto ``decode(str)``; ``read_inputs`` turns files given to `aiaas predict`
(plain text, one text per line, or JSONL with a "text" field or "tokens") into named texts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.text import hub_tokens, tokenizer
from aiaas_recipes.common.text.lines import lines
from aiaas_recipes.common.text.requests import decoded_files, request_text
from aiaas_recipes.token_cls import encoding, hub_encoding
from aiaas_recipes.token_cls.decode import Decoder
from aiaas_recipes.token_cls.encoding import Encoded

SERVICE = "aiaas_recipes.token_cls.service:TokenService"
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "read_inputs", "to_row"]
DEFAULT_MAX_CHARS = 20_000  # longer texts are refused: one request would fill many batches of rows


@dataclass
class Text:
    """One decoded input: the text as sent and its encoding."""

    text: str
    encoded: Encoded


class TokenAdapter:
    """Tokenizes texts for a model exported by the token-cls recipe and decodes its tags into entities."""

    def __init__(self, metadata: dict[str, Any], max_chars: int = DEFAULT_MAX_CHARS):
        self.decoder = Decoder(list(metadata["labels"]))
        self.max_length = int(metadata["max_length"])
        hub = metadata.get("hub")  # a hub model: its own tokenizer, ids and attention mask
        serialized = metadata["tokenizer"]
        self.hub = hub_tokens.load(serialized, self.max_length, hub["pad_id"], hub["inputs"]) if hub else None
        self.tokenizer = None if hub else tokenizer.load(serialized)
        self.max_chars = int(max_chars)

    def decode(self, payload: Any) -> Text:
        """One text's rows; raises BadInput for a non-string, empty or oversized text."""
        payload = request_text(payload, self.max_chars)
        if self.hub is not None:
            return Text(payload, hub_encoding.encode(self.hub, payload))
        return Text(payload, encoding.encode(self.tokenizer, payload, self.max_length))

    def batch(self, items: list[Text]) -> dict[str, np.ndarray]:
        """{"input_ids": (rows, max_length) int64, ...}: every row of every text, always max_length wide so batches
        from several requests can be concatenated (the models ignore padding)."""
        ids = np.concatenate([item.encoded.rows for item in items])
        if self.hub is None:
            return {"input_ids": ids}
        lengths = np.concatenate([item.encoded.lengths for item in items])
        return hub_tokens.feeds(self.hub.inputs, ids, lengths, None)

    def postprocess(self, outputs: dict[str, np.ndarray], items: list[Text], k: int) -> list[dict]:
        """{"entities": [...]} per text; ``k`` is not used (each word gets its one best tag)."""
        logits, answers, row = np.asarray(outputs["logits"]), [], 0
        for item in items:
            rows = len(item.encoded.rows)
            answers.append({"entities": self.decoder.entities(item.text, item.encoded, logits[row : row + rows])})
            row += rows
        return answers


def build_adapter(metadata: dict[str, Any], max_chars: int = DEFAULT_MAX_CHARS) -> TokenAdapter:
    """The adapter for token-cls models; ``max_chars`` comes from `serve.limits`."""
    return TokenAdapter(metadata, max_chars=max_chars)


def http_request(name: str, payload: str, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one text: JSON."""
    return {"json": {"text": payload}}


def http_response(predictions: list[dict]) -> dict:
    """The body a one-text `/predict` answers: that text's entities."""
    return predictions[0]


def http_predictions(body: dict) -> list[dict]:
    """The per-text predictions of a `/predict` answer (None when it holds no entities list)."""
    return [body] if isinstance(body.get("entities"), list) else None


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """`aiaas predict`'s record: the input's name, its text, the entities found in it, and the same as one
    readable line (a column that CSV output and the pipeline's sample table can show)."""
    entities = prediction["entities"]
    found = "; ".join(f"{e['text']} ({e['label']})" for e in entities)
    return {"input": name, "text": payload, "found": found, "entities": entities}


def _json_text(line: str) -> Any:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return BadInput(f"not JSON ({exc.msg})")
    if isinstance(record, dict) and "text" not in record and isinstance(record.get("tokens"), list):
        return " ".join(str(token) for token in record["tokens"])  # as the recipe joins tokens when it trains
    return record.get("text", BadInput("no 'text' field")) if isinstance(record, dict) else record


def read_inputs(paths: list[Path]) -> Iterator[tuple[str, Any]]:
    """(name, text) per line of a text file or per record of a .jsonl file; an unreadable file yields
    (name, exception) instead."""
    for name, text in decoded_files(paths):
        if isinstance(text, Exception):
            yield name, text
            continue
        as_json = Path(name).suffix.lower() in (".jsonl", ".ndjson")
        for number, line in enumerate(lines(text), start=1):
            if line.strip():
                yield f"{name}:{number}", _json_text(line) if as_json else line
