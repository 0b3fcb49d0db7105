"""The decode of an exported seq2seq model, torch-free: the encoder once, then the shared numpy search
(common/generation/decoding.py) over the decoder-step graph with past keys/values (common/generation/kv.py).

Evaluation runs it over the torch network (`TorchModel`, export.py), export's parity check, `predict` and the
service over ONNX Runtime: one loop, so the token sequences can be compared one for one.

Feeds (one row per text, so the service's batcher can join requests): src_ids/src_mask [rows, max_source_tokens],
beam_size and max_length [rows]. Outputs: tokens [rows, width] (padded with 0) and lengths [rows].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_recipes.common.generation.decoding import Decoding, beam_search, generate
from aiaas_recipes.common.generation.kv import Stepper

ENCODER_INPUTS = ("src_ids", "src_mask")
FEEDS = (*ENCODER_INPUTS, "beam_size", "max_length")
OUTPUTS = ("tokens", "lengths")
MEMORY, MEMORY_MASK = "memory_kv", "memory_mask"


def _settings(spec: dict, limit: int, beam: int) -> Decoding:
    return Decoding(
        max_new_tokens=max(int(limit), 1),
        eos_id=int(spec["eos_id"]),
        beam_size=max(int(beam), 1),
        length_penalty=float(spec.get("length_penalty", 1.0)),
        no_repeat_ngram=int(spec.get("no_repeat_ngram", 0)),
    )


class NoSpecials:
    """A stepper whose logits never choose padding, the start token or the unknown token: only text or the end."""

    def __init__(self, stepper: Stepper, banned: list[int]):
        self.stepper, self.banned = stepper, banned

    def __call__(self, tokens: np.ndarray) -> np.ndarray:
        logits = self.stepper(tokens)
        logits[:, self.banned] = -np.inf
        return logits

    def take(self, index: np.ndarray) -> None:
        self.stepper.take(index)


def _decode_rows(model: Any, spec: dict, memory: np.ndarray, mask: np.ndarray, settings: list[Decoding]) -> list:
    """Outputs of these rows (one beam size, and one max length when beam searching)."""
    start = Stepper.start(model.graphs["decoder"], spec, len(settings), {MEMORY: memory, MEMORY_MASK: mask})
    # the start token may be the end token itself (BART): that one stays choosable
    banned = {int(spec[key]) for key in ("pad_id", "bos_id", "unk_id") if key in spec} - {int(spec["eos_id"])}
    stepper = NoSpecials(start, sorted(banned))
    first = stepper(np.full((len(settings), 1), int(spec["bos_id"]), dtype=np.int64))
    if settings[0].beam_size > 1:
        return beam_search(stepper, first, settings[0])
    return generate(stepper, first, settings, [[] for _ in settings])


def run(model: Any, feeds: dict[str, np.ndarray], spec: dict) -> dict[str, np.ndarray]:
    """Output ids of every row; ``model``: ``run`` (the encoder) and ``graphs["decoder"]`` (ONNX or torch twin);
    ``spec``: the model's metadata["decoder"]."""
    mask = np.asarray(feeds["src_mask"], dtype=np.int64)
    used = max(int(mask.sum(axis=1).max(initial=1)), 1)  # padding past the longest text costs and changes nothing
    ids, mask = np.asarray(feeds["src_ids"], dtype=np.int64)[:, :used], mask[:, :used]
    width = int(spec["max_output"])
    limits = np.minimum(np.asarray(feeds["max_length"]).reshape(-1), width)
    beams = np.asarray(feeds["beam_size"]).reshape(-1)
    tokens = np.zeros((len(ids), width), dtype=np.int64)
    lengths = np.zeros(len(ids), dtype=np.int64)
    if len(ids) == 0:
        return {"tokens": tokens, "lengths": lengths}
    memory = model.run({"src_ids": ids, "src_mask": mask})[MEMORY]
    groups: dict[tuple[int, int], list[int]] = {}
    for row, (beam, limit) in enumerate(zip(beams, limits)):
        key = (1, 0) if beam <= 1 else (int(beam), int(limit))  # greedy rows share one batch, each its own limit
        groups.setdefault(key, []).append(row)
    for rows in groups.values():
        index = np.asarray(rows)
        settings = [_settings(spec, limits[r], beams[r]) for r in rows]
        for row, out in zip(rows, _decode_rows(model, spec, memory[index], mask[index], settings)):
            out = out[:width]
            tokens[row, : len(out)] = out
            lengths[row] = len(out)
    return {"tokens": tokens, "lengths": lengths}


def sequences(outputs: dict[str, np.ndarray]) -> list[list[int]]:
    """Each row's output ids, without padding."""
    return [row[:n].tolist() for row, n in zip(outputs["tokens"], outputs["lengths"])]
