"""A decoder-step ONNX graph with past key/values, run one token at a time: the cache and the stepper.

Every text-writing recipe (a causal language model, the decoder of an encoder-decoder) exports its decoder with
these names, so that one stepper, one search (decoding.py) and one streaming scheduler serve them all:

  inputs   tokens          int64   [batch, new]            the new tokens (a prompt at first, then one per step)
           positions       int64   [batch, new]            their positions (padding does not count)
           attention_mask  int64   [batch, past + new]     1: a real token, 0: padding (left) or the dummy slot
           past            float32 [layers, 2, batch, heads, past, head_dim]   keys (0) and values (1)
           ...             any further inputs the recipe passes through (an encoder's memory and its mask)
  outputs  logits          float32 [batch, new, vocab]
           present         float32 [layers, 2, batch, heads, past + new, head_dim]

The cache starts with one masked dummy slot rather than a past of length 0: exporters and ONNX Runtime handle a
size-0 axis unevenly, a masked slot costs one position and changes no answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

TOKENS, POSITIONS, MASK, PAST = "tokens", "positions", "attention_mask", "past"
LOGITS, PRESENT = "logits", "present"


@dataclass
class Cache:
    """The past keys/values of a batch of rows and which of their slots are real."""

    past: np.ndarray  # [layers, 2, rows, heads, slots, head_dim]
    mask: np.ndarray  # [rows, slots] int64

    @classmethod
    def empty(cls, rows: int, layers: int, heads: int, head_dim: int) -> Cache:
        past = np.zeros((layers, 2, rows, heads, 1, head_dim), dtype=np.float32)
        return cls(past, np.zeros((rows, 1), dtype=np.int64))

    @property
    def rows(self) -> int:
        return self.mask.shape[0]

    def feeds(self, tokens: np.ndarray, token_mask: np.ndarray) -> dict[str, np.ndarray]:
        """The graph's inputs for ``tokens`` [rows, new] after this cache."""
        seen = self.mask.sum(axis=1, keepdims=True)
        positions = np.maximum(seen + np.cumsum(token_mask, axis=1) - 1, 0)
        mask = np.concatenate([self.mask, token_mask], axis=1)
        return {TOKENS: tokens.astype(np.int64), POSITIONS: positions.astype(np.int64), MASK: mask, PAST: self.past}

    def advanced(self, present: np.ndarray, token_mask: np.ndarray) -> Cache:
        return Cache(present, np.concatenate([self.mask, token_mask.astype(np.int64)], axis=1))

    def take(self, index: np.ndarray) -> Cache:
        """These rows, in this order (beams following their parents, finished rows leaving)."""
        return Cache(self.past[:, :, index], self.mask[index])._trimmed()

    def _trimmed(self) -> Cache:
        """Without the leading slots no row uses any more (left by rows that left), keeping at least one."""
        used = np.flatnonzero(self.mask.any(axis=0))
        start = min(int(used[0]) if len(used) else self.mask.shape[1] - 1, self.mask.shape[1] - 1)
        return self if start == 0 else Cache(self.past[:, :, :, :, start:], self.mask[:, start:])

    @staticmethod
    def merge(caches: list[Cache]) -> Cache:
        """Rows of several caches as one batch: the shorter ones padded on the left with masked slots."""
        slots = max(c.mask.shape[1] for c in caches)
        pasts, masks = [], []
        for cache in caches:
            pad = slots - cache.mask.shape[1]
            pasts.append(np.pad(cache.past, [(0, 0)] * 4 + [(pad, 0), (0, 0)]))
            masks.append(np.pad(cache.mask, [(0, 0), (pad, 0)]))
        return Cache(np.concatenate(pasts, axis=2), np.concatenate(masks, axis=0))


def left_pad(sequences: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Token lists of different lengths as one [rows, longest] batch padded on the left, and its mask."""
    longest = max(len(s) for s in sequences)
    tokens = np.full((len(sequences), longest), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), longest), dtype=np.int64)
    for row, seq in enumerate(sequences):
        if seq:
            tokens[row, -len(seq) :] = seq
            mask[row, -len(seq) :] = 1
    return tokens, mask


@dataclass
class Stepper:
    """Feeds tokens through a decoder-step graph and keeps the cache: ``stepper(tokens)`` -> the last logits.

    ``extra``: further inputs with a row per cache row (an encoder's memory and mask), reordered with the rows.
    """

    graph: Any  # runtime.OnnxGraph (or anything with run(feeds) -> outputs)
    cache: Cache
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def start(cls, graph: Any, spec: dict, rows: int, extra: dict | None = None) -> Stepper:
        """An empty cache for ``rows``; ``spec``: the decoder's "layers", "heads" and "head_dim" (model metadata)."""
        cache = Cache.empty(rows, int(spec["layers"]), int(spec["heads"]), int(spec["head_dim"]))
        return cls(graph, cache, dict(extra or {}))

    def __call__(self, tokens: np.ndarray, token_mask: np.ndarray | None = None) -> np.ndarray:
        tokens = np.asarray(tokens, dtype=np.int64).reshape(self.cache.rows, -1)
        token_mask = np.ones_like(tokens) if token_mask is None else token_mask.astype(np.int64)
        outputs = self.graph.run({**self.cache.feeds(tokens, token_mask), **self.extra})
        self.cache = self.cache.advanced(outputs[PRESENT], token_mask)
        return outputs[LOGITS][:, -1].astype(np.float32)

    def take(self, index: np.ndarray) -> None:
        index = np.asarray(index, dtype=np.int64)
        self.cache = self.cache.take(index)
        self.extra = {name: value[index] for name, value in self.extra.items()}
