"""Torch-free serving half of text-gen: a prompt -> tokens -> the decoder step graph, one token per step after the
prefill (common/generation/kv.py) -> tokens chosen in numpy (decoding.py) -> text.

`/predict` takes {"prompt" (or "messages"), "max_tokens", "temperature", "top_p", "top_k", "repetition_penalty",
"seed", "stop"} and answers {"text", "tokens", "finish_reason"}. The OpenAI-compatible routes (service.py and
common/generation/streams.py) use the same adapter: ``encode``, ``decode_tokens``, ``render_chat``, ``decoding``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.generation import decoding as search
from aiaas_recipes.common.generation.kv import Stepper, left_pad
from aiaas_recipes.common.scores import one_answer, one_prediction
from aiaas_recipes.common.text.lines import lines
from aiaas_recipes.common.text.requests import decoded_files, request_text
from aiaas_recipes.text_gen import chat

SERVICE = "aiaas_recipes.text_gen.service:TextGen"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "read_inputs", "to_row"]
INPUT_SUFFIXES = (".txt", ".jsonl")
DEFAULT_MAX_CHARS = 20_000
DEFAULT_MAX_TOKENS = 256  # the most new tokens one request may ask for
DEFAULT_NEW_TOKENS = 64  # a request that names no max_tokens
SETTINGS = ("max_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed", "stop")
FEEDS = ("max_new_tokens", "temperature", "top_k", "top_p", "repetition_penalty", "seed")


@dataclass
class Request:
    """One decoded request: its prompt's ids, how to choose tokens, and the strings that end it."""

    ids: list[int]
    settings: search.Decoding
    stop: list[str]


def _number(request: dict, key: str, kind: type, default: Any, low: float, high: float) -> Any:
    value = request.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and int(value) != value):
        raise BadInput(f"{key} must be {'an integer' if kind is int else 'a number'}", status=422)
    if not low <= value <= high:
        raise BadInput(f"{key}={value} is outside [{low}, {high}]", status=422)
    return kind(value)


class TextGenAdapter:
    """Everything the text-gen services need of a model: its tokenizer, chat template and decoding limits."""

    max_k = None

    def __init__(self, metadata: dict, max_chars: int = DEFAULT_MAX_CHARS, max_tokens: int = DEFAULT_MAX_TOKENS):
        from tokenizers import Tokenizer

        self.spec = dict(metadata["decoder"])  # layers, heads, head_dim, vocab, eos_id, pad_id, max_positions
        self.tokenizer = Tokenizer.from_str(metadata["tokenizer"])
        self.template = metadata.get("chat_template")
        self.special = {"bos_token": metadata.get("bos_token", ""), "eos_token": metadata.get("eos_token", "")}
        self.max_chars, self.max_tokens = int(max_chars), int(max_tokens)
        self.model_name = str(metadata.get("model", "text-gen"))

    # the pieces the OpenAI-compatible routes use
    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode_tokens(self, ids: list[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def render_chat(self, messages: list[dict]) -> str:
        return chat.render(self.template, chat.check_messages(messages), True, **self.special)

    def decoding(self, request: dict, prompt_tokens: int = 0) -> search.Decoding:
        """The request's sampling settings, checked (422) and within the limits (413: more tokens than allowed)."""
        limit = min(self.max_tokens, int(self.spec["max_positions"]) - prompt_tokens)
        wanted = _number(request, "max_tokens", int, min(DEFAULT_NEW_TOKENS, max(limit, 1)), 1, 1e9)
        if wanted > self.max_tokens:
            raise BadInput(f"max_tokens={wanted} is above this model's limit of {self.max_tokens}", status=413)
        if wanted > limit:
            raise BadInput(f"{prompt_tokens} prompt tokens + max_tokens={wanted} exceed the model's "
                           f"{self.spec['max_positions']} positions", status=413)  # fmt: skip
        return search.Decoding(
            max_new_tokens=wanted,
            eos_id=int(self.spec["eos_id"]),
            temperature=_number(request, "temperature", float, 0.0, 0.0, 2.0),
            top_p=_number(request, "top_p", float, 1.0, 0.0, 1.0) or 1.0,
            top_k=_number(request, "top_k", int, 0, 0, 1e9),
            repetition_penalty=_number(request, "repetition_penalty", float, 1.0, 0.01, 10.0),
            seed=_number(request, "seed", int, None, -(2**63), 2**63 - 1),
        )

    def prompt_ids(self, text: str) -> list[int]:
        """The prompt's ids; 413 when the prompt alone fills the model's positions."""
        ids = self.encode(text)
        if not ids:
            raise BadInput("the prompt has no tokens", status=422)
        if len(ids) >= int(self.spec["max_positions"]):
            raise BadInput(f"prompt of {len(ids)} tokens does not fit the model's {self.spec['max_positions']} "
                           "positions", status=413)  # fmt: skip
        return ids

    # the standard adapter: /predict and `aiaas predict`
    def decode(self, payload: Any) -> Request:
        request = payload if isinstance(payload, dict) else {"prompt": payload}
        if "messages" in request:
            text = self.render_chat(request["messages"])
        else:
            text = request_text(request.get("prompt"), self.max_chars)
        if len(text) > self.max_chars:
            raise BadInput(f"prompt of {len(text)} characters is above the limit of {self.max_chars}", status=413)
        ids = self.prompt_ids(text)
        stop = request.get("stop") or []
        stop = [stop] if isinstance(stop, str) else stop
        if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop) or len(stop) > 4:
            raise BadInput("stop must be a string or a list of up to 4 non-empty strings", status=422)
        return Request(ids, self.decoding(request, len(ids)), stop)

    def batch(self, items: list[Request]) -> dict[str, np.ndarray]:
        tokens, _ = left_pad([item.ids for item in items], int(self.spec["pad_id"]))
        feeds = {"prompt": tokens, "prompt_length": np.array([len(i.ids) for i in items], dtype=np.int64)}
        return {**feeds, **settings_feeds([item.settings for item in items])}

    def run(self, model: Any, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Prefill and decode every row of ``feeds`` on the decoder-step graph (``model``, an OnnxModel)."""
        return complete(model, self.spec, feeds)

    def postprocess(self, outputs: dict[str, np.ndarray], items: list[Request], k: int) -> list[dict]:
        answers = []
        for row, item in zip(outputs["tokens"], items, strict=True):
            ids = [int(t) for t in row if t >= 0]
            text, reason = cut_at_stop(self.decode_tokens(ids), item.stop)
            if reason is None:
                reason = "length" if len(ids) >= item.settings.max_new_tokens else "stop"
            answers.append({"text": text, "tokens": len(ids), "finish_reason": reason})
        return answers


def settings_feeds(settings: list[search.Decoding]) -> dict[str, np.ndarray]:
    """Each row's decoding settings as arrays, so they travel with the feeds (runtime.runner's one argument)."""
    return {
        "max_new_tokens": np.array([s.max_new_tokens for s in settings], dtype=np.int64),
        "temperature": np.array([s.temperature for s in settings], dtype=np.float64),
        "top_k": np.array([s.top_k for s in settings], dtype=np.int64),
        "top_p": np.array([s.top_p for s in settings], dtype=np.float64),
        "repetition_penalty": np.array([s.repetition_penalty for s in settings], dtype=np.float64),
        "seed": np.array([-1 if s.seed is None else s.seed for s in settings], dtype=np.int64),
    }


def complete(graph: Any, spec: dict, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Continuations of the left-padded prompts in ``feeds``: {"tokens": [rows, longest] (-1 after the end)}.
    ``graph``: anything with ``run(step feeds) -> {"logits", "present"}`` (ONNX Runtime, or torch for parity)."""
    prompts = [list(row[len(row) - int(n) :]) for row, n in zip(feeds["prompt"], feeds["prompt_length"])]
    settings = [
        search.Decoding(
            max_new_tokens=int(feeds["max_new_tokens"][i]),
            eos_id=int(spec["eos_id"]),
            temperature=float(feeds["temperature"][i]),
            top_k=int(feeds["top_k"][i]),
            top_p=float(feeds["top_p"][i]),
            repetition_penalty=float(feeds["repetition_penalty"][i]),
            seed=None if int(feeds["seed"][i]) < 0 else int(feeds["seed"][i]),
        )  # fmt: skip
        for i in range(len(prompts))
    ]
    tokens, mask = left_pad(prompts, int(spec["pad_id"]))
    stepper = Stepper.start(graph, spec, len(prompts))
    first = stepper(tokens, mask)
    histories = [p if s.repetition_penalty != 1.0 else [] for p, s in zip(prompts, settings)]
    outputs = search.generate(stepper, first, settings, histories)
    width = int(np.max(feeds["max_new_tokens"])) if len(prompts) else 0
    out = np.full((len(prompts), width), -1, dtype=np.int64)
    for row, ids in enumerate(outputs):
        out[row, : len(ids)] = ids
    return {"tokens": out}


def cut_at_stop(text: str, stop: list[str]) -> tuple[str, str | None]:
    """``text`` up to the first stop string ("stop"), or whole (None)."""
    cuts = [text.find(s) for s in stop if s in text]
    return (text[: min(cuts)], "stop") if cuts else (text, None)


def build_adapter(metadata: dict, max_chars: int = DEFAULT_MAX_CHARS, max_tokens: int = DEFAULT_MAX_TOKENS,
                  **_: Any) -> TextGenAdapter:  # fmt: skip
    """The adapter for text-gen models; the limits come from `serve.limits` (others belong to the service)."""
    return TextGenAdapter(metadata, max_chars, max_tokens)


def http_request(name: str, payload: Any, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one prompt: JSON."""
    return {"json": payload if isinstance(payload, dict) else {"prompt": payload}}


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    return {"input": name, **prediction}


def read_inputs(paths: list[Path]):
    """(name, payload) per prompt: a JSONL line ({"prompt"} or {"messages"}, with settings), else the whole .txt
    file is one prompt."""
    for name, text in decoded_files(paths):
        if isinstance(text, Exception) or not name.lower().endswith(".jsonl"):
            yield name, text
            continue
        for number, line in enumerate(lines(text), start=1):
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    record = BadInput(f"not JSON ({exc.msg})")
                yield f"{name}:{number}", record
