"""Per-word tag scores -> the best valid BIO sequence -> entities with character offsets. Numpy only.

The model scores every tag at every word on its own; decoding picks the most likely sequence in which every
``I-X`` continues a ``B-X`` or ``I-X`` (Viterbi over the allowed transitions, a CRF's decoding without learnt
transition weights), so no prediction needs repairing. Evaluation and the service decode with this same code.
"""

from __future__ import annotations

import numpy as np

from aiaas_recipes.token_cls import tags as tagging
from aiaas_recipes.token_cls.encoding import Encoded

BLOCKED = -1e9


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def transitions(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(L, L) scores of tag i followed by tag j and (L,) scores of a first tag: 0 allowed, BLOCKED not."""
    start = np.asarray([BLOCKED if name.startswith("I-") else 0.0 for name in names])
    moves = np.zeros((len(names), len(names)))
    for j, name in enumerate(names):
        if name.startswith("I-"):
            allowed = {f"B-{name[2:]}", name}
            moves[:, j] = [0.0 if before in allowed else BLOCKED for before in names]
    return moves, start


def viterbi(scores: np.ndarray, moves: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The tag indices of the best allowed path through ``scores`` (W, L) log-probabilities."""
    if len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    best = scores[0] + start
    back = np.zeros(scores.shape, dtype=np.int64)
    for t in range(1, len(scores)):
        total = best[:, None] + moves  # (from, to)
        back[t] = total.argmax(0)
        best = total.max(0) + scores[t]
    path = [int(best.argmax())]
    for t in range(len(scores) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return np.asarray(path[::-1], dtype=np.int64)


class Decoder:
    """Decodes one label set (the model's tag names)."""

    def __init__(self, names: list[str]):
        self.names = list(names)
        self.moves, self.start = transitions(self.names)

    def word_scores(self, logits: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """(W, L) log-probabilities of each word's tags, from ``logits`` (R, T, L) of one text's rows."""
        return log_softmax(np.asarray(logits, dtype=np.float64)[positions[:, 0], positions[:, 1]])

    def tags(self, scores: np.ndarray) -> list[str]:
        """The best valid BIO tags of one sequence of word scores."""
        return [self.names[i] for i in viterbi(scores, self.moves, self.start)]

    def entities(self, text: str, encoded: Encoded, logits: np.ndarray) -> list[dict]:
        """The entities of one text: its words' text, type, character offsets and mean tag probability."""
        scores = self.word_scores(logits, encoded.positions)
        path = viterbi(scores, self.moves, self.start)
        chosen = np.exp(scores[np.arange(len(path)), path]) if len(path) else np.zeros(0)
        found = []
        for first, last, kind in tagging.spans([self.names[i] for i in path]):
            start, end = int(encoded.spans[first, 0]), int(encoded.spans[last - 1, 1])
            score = float(chosen[first:last].mean())
            found.append({"text": text[start:end], "label": kind, "start": start, "end": end, "score": score})
        return found


def word_tags(decoder: Decoder, logits: np.ndarray, tags: np.ndarray) -> list[tuple[list[str], list[str]]]:
    """(gold, predicted) BIO tags of the words of each row: rows taken as sentences (validation, int8 scoring)."""
    pairs = []
    for row_logits, row_tags in zip(logits, tags):
        columns = np.flatnonzero(row_tags[: len(row_logits)] >= 0)
        scores = decoder.word_scores(row_logits[None], np.stack([np.zeros_like(columns), columns], 1))
        pairs.append(([decoder.names[t] for t in row_tags[columns]], decoder.tags(scores)))
    return pairs
