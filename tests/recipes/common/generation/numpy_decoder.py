"""A small causal Transformer decoder step written in numpy, with kv.py's graph convention (tokens, positions,
attention_mask, past -> logits, present): a real model with random weights, not a mock of ONNX Runtime. Its
attention honours the mask and its positions come from the caller, so left padding and merged batches must
give the same answers as lone runs, as they must with the exported ONNX decoder."""

from __future__ import annotations

import threading

import numpy as np

from aiaas_recipes.common.generation.kv import LOGITS, MASK, PAST, POSITIONS, PRESENT, TOKENS


class NumpyDecoder:
    def __init__(self, vocab: int = 40, dim: int = 16, layers: int = 2, heads: int = 2, seed: int = 0, delay=0.0):
        r = np.random.default_rng(seed)
        self.vocab, self.layers, self.heads, self.head_dim = vocab, layers, heads, dim // heads
        self.embed = r.normal(0, 1, (vocab, dim)).astype(np.float32)
        self.position = r.normal(0, 0.5, (256, dim)).astype(np.float32)
        self.qkv = r.normal(0, dim**-0.5, (layers, 3, dim, dim)).astype(np.float32)
        self.out = r.normal(0, 2 * dim**-0.5, (dim, vocab)).astype(np.float32)
        self.delay = delay  # seconds per call, so tests can catch the scheduler between steps
        self.calls: list[int] = []  # the batch size of every call
        self.lock = threading.Lock()

    @property
    def spec(self) -> dict:
        return {"layers": self.layers, "heads": self.heads, "head_dim": self.head_dim, "vocab": self.vocab,
                "pad_id": 0, "eos_id": 1, "max_positions": 256}  # fmt: skip

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.delay:
            threading.Event().wait(self.delay)
        with self.lock:
            self.calls.append(len(feeds[TOKENS]))
        x = self.embed[feeds[TOKENS]] + self.position[feeds[POSITIONS]]  # [b, new, dim]
        mask, past = feeds[MASK], feeds[PAST]
        b, new, _ = x.shape
        allowed = mask[:, None, None, :].astype(bool).repeat(new, axis=2)  # [b, 1, new, slots]
        slots = mask.shape[1]
        causal = np.arange(slots)[None, :] <= (slots - new + np.arange(new))[:, None]
        allowed = allowed & causal[None, None]
        presents = []
        for layer in range(self.layers):
            q, k, v = (self._split(x @ w) for w in self.qkv[layer])  # [b, heads, new, hd]
            keys = np.concatenate([past[layer, 0], k], axis=2)
            values = np.concatenate([past[layer, 1], v], axis=2)
            presents.append(np.stack([keys, values]))
            scores = np.where(allowed, q @ keys.transpose(0, 1, 3, 2) / np.sqrt(self.head_dim), -1e9)
            weights = np.exp(scores - scores.max(-1, keepdims=True))
            weights /= weights.sum(-1, keepdims=True)
            x = x + (weights @ values).transpose(0, 2, 1, 3).reshape(b, new, -1)
        return {LOGITS: (x @ self.out).astype(np.float32), PRESENT: np.stack(presents).astype(np.float32)}

    def _split(self, x: np.ndarray) -> np.ndarray:
        b, n, _ = x.shape
        return x.reshape(b, n, self.heads, self.head_dim).transpose(0, 2, 1, 3)


def detok(ids: list[int]) -> str:
    """Token i is the letter chr(ord('a') + i % 26): a detokeniser with a visible text for stop strings."""
    return "".join(chr(ord("a") + i % 26) for i in ids)
