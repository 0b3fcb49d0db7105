"""Choosing tokens, written once in numpy: greedy, sampling (temperature, top-k, top-p, repetition penalty, seed)
and beam search (length penalty, no-repeat n-grams). Shared by evaluation, `predict` and the services of every
recipe that writes text; the model is a `kv.Stepper` (or anything with ``__call__(tokens)`` -> last logits and
``take(rows)``), so a decode step costs one token's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Decoding:
    """How to choose the tokens of one request."""

    max_new_tokens: int = 64
    eos_id: int | None = None
    beam_size: int = 1
    length_penalty: float = 1.0  # beam scores are summed log-probabilities / length ** length_penalty
    no_repeat_ngram: int = 0  # no n-gram of this size twice in one output (0: off)
    temperature: float = 0.0  # 0: greedy
    top_k: int = 0  # 0: every token
    top_p: float = 1.0
    repetition_penalty: float = 1.0  # > 1 makes tokens already in the output (or prompt) less likely
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0 and self.beam_size <= 1


def rng(settings: Decoding) -> np.random.Generator:
    return np.random.default_rng(settings.seed)


def _banned(history: list[int], n: int) -> list[int]:
    """Tokens that would repeat an n-gram of ``history``."""
    if n <= 0 or len(history) < n - 1:
        return []
    prefix = tuple(history[len(history) - n + 1 :]) if n > 1 else ()
    return [history[i + n - 1] for i in range(len(history) - n + 1) if tuple(history[i : i + n - 1]) == prefix]


def adjust(logits: np.ndarray, history: list[int], settings: Decoding) -> np.ndarray:
    """One row's logits after the repetition penalty and the no-repeat n-gram ban."""
    logits = logits.astype(np.float64)
    if settings.repetition_penalty != 1.0 and history:
        seen = np.unique(np.asarray(history, dtype=np.int64))
        values = logits[seen]
        logits[seen] = np.where(values > 0, values / settings.repetition_penalty, values * settings.repetition_penalty)
    banned = _banned(history, settings.no_repeat_ngram)
    if banned:
        logits[banned] = -np.inf
    return logits


def choose(logits: np.ndarray, history: list[int], settings: Decoding, generator: np.random.Generator) -> int:
    """The next token of one row: the most likely, or a sample from the filtered distribution."""
    logits = adjust(logits, history, settings)
    if settings.temperature <= 0:
        return int(np.argmax(logits))
    logits = logits / settings.temperature
    if 0 < settings.top_k < len(logits):
        cut = np.partition(logits, -settings.top_k)[-settings.top_k]
        logits = np.where(logits < cut, -np.inf, logits)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    if settings.top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        keep = np.cumsum(probs[order]) - probs[order] < settings.top_p  # the smallest set reaching top_p
        filtered = np.zeros_like(probs)
        filtered[order[keep]] = probs[order[keep]]
        probs = filtered / filtered.sum()
    return int(generator.choice(len(probs), p=probs))


def generate(stepper: Any, first: np.ndarray, settings: list[Decoding], histories: list[list[int]]) -> list[list[int]]:
    """Greedy or sampled continuations of every row, each by its own settings; ``first``: the logits after the
    prompts (prefill); ``histories``: what the repetition penalty sees (the prompts, or nothing). Rows that end
    (end token or their max_new_tokens) leave the batch, so the others' steps cost less."""
    rows = len(settings)
    generators = [rng(s) for s in settings]
    outputs: list[list[int]] = [[] for _ in range(rows)]
    live, logits = list(range(rows)), first
    while live:
        tokens, still = [], []
        for position, row in enumerate(live):
            token = choose(logits[position], histories[row] + outputs[row], settings[row], generators[row])
            done = token == settings[row].eos_id
            if not done:
                outputs[row].append(token)
            if not done and len(outputs[row]) < settings[row].max_new_tokens:
                still.append(position)
                tokens.append(token)
        if not still:
            break
        if len(still) < len(live):
            stepper.take(np.asarray(still))
            live = [live[p] for p in still]
        logits = stepper(np.asarray(tokens, dtype=np.int64)[:, None])
    return outputs


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def beam_search(stepper: Any, first: np.ndarray, settings: Decoding) -> list[list[int]]:
    """The best-scoring output of each row by beam search (one setting for the batch). The stepper's rows become
    rows * beam_size: beams follow their parents through ``take``. A row ends once it has beam_size finished
    hypotheses (or at max_new_tokens); its best finished one wins, else its best live one."""
    rows, beam, vocab = first.shape[0], settings.beam_size, first.shape[1]
    stepper.take(np.repeat(np.arange(rows), beam))
    logp = np.repeat(_log_softmax(first.astype(np.float64)), beam, axis=0)
    scores = np.full((rows, beam), -np.inf)
    scores[:, 0] = 0.0  # the beams start identical: only the first one may expand at step 0
    beams: list[list[int]] = [[] for _ in range(rows * beam)]
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(rows)]
    for length in range(1, settings.max_new_tokens + 1):
        for i, history in enumerate(beams):
            banned = _banned(history, settings.no_repeat_ngram)
            if banned:
                logp[i, banned] = -np.inf
        total = (scores.reshape(-1, 1) + logp).reshape(rows, beam * vocab)
        order = np.argsort(-total, axis=1, kind="stable")[:, : 2 * beam]
        parents, chosen, new_scores = [], [], np.full((rows, beam), -np.inf)
        for r in range(rows):
            kept = 0
            for flat in order[r]:
                score, parent, token = total[r, flat], r * beam + flat // vocab, int(flat % vocab)
                if not np.isfinite(score):
                    break
                if token == settings.eos_id:
                    if len(finished[r]) < beam:
                        finished[r].append((score / length**settings.length_penalty, beams[parent]))
                    continue
                if kept < beam:
                    parents.append(parent)
                    chosen.append(token)
                    new_scores[r, kept] = score
                    kept += 1
            while kept < beam:  # fewer live candidates than beams: pad with dead ones
                parents.append(r * beam)
                chosen.append(settings.eos_id or 0)
                kept += 1
        beams = [beams[p] + [t] for p, t in zip(parents, chosen)]
        scores = new_scores
        if all(len(f) >= beam for f in finished) or length == settings.max_new_tokens:
            break
        stepper.take(np.asarray(parents))
        logp = _log_softmax(stepper(np.asarray(chosen, dtype=np.int64)[:, None]).astype(np.float64))
    return [_best(finished[r], beams[r * beam : (r + 1) * beam], scores[r], settings) for r in range(rows)]


def _best(finished: list, live: list[list[int]], scores: np.ndarray, settings: Decoding) -> list[int]:
    candidates = list(finished)
    for tokens, score in zip(live, scores):
        if np.isfinite(score):
            candidates.append((score / max(len(tokens), 1) ** settings.length_penalty, tokens))
    return max(candidates, key=lambda c: c[0])[1] if candidates else []
