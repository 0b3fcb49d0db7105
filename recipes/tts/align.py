"""Phoneme durations from recordings by monotonic alignment search (MAS, as in Glow-TTS), in numpy.

Glow-TTS scores frames under its own model's prior; here the prior is one Gaussian mean per phoneme symbol (unit
variance on standardised log-mels), fitted by hard EM over the whole corpus: align with the current means, refit
the means from the aligned frames, repeat. That needs no external aligner and works for any voice."""

from __future__ import annotations

import numpy as np


def maximum_path(score: np.ndarray) -> np.ndarray:
    """Durations (N,) of the monotonic path through ``score`` (N phonemes, T frames; T >= N) with the highest sum:
    every phoneme gets at least one frame, phonemes keep their order, every frame belongs to one phoneme."""
    count, frames = score.shape
    best = np.full((count, frames), -np.inf)
    best[0, 0] = score[0, 0]
    for t in range(1, frames):
        stay = best[:, t - 1]
        advance = np.concatenate([[-np.inf], best[:-1, t - 1]])
        best[:, t] = np.maximum(stay, advance) + score[:, t]
    durations = np.zeros(count, np.int64)
    j = count - 1
    for t in range(frames - 1, 0, -1):
        durations[j] += 1
        if j > 0 and (j == t or best[j - 1, t - 1] > best[j, t - 1]):
            j -= 1
    durations[j] += 1
    return durations


def frame_scores(ids: np.ndarray, frames: np.ndarray, means: np.ndarray) -> np.ndarray:
    """(N, T) Gaussian log-likelihood (up to a constant) of each frame under each phoneme's mean."""
    chosen = means[ids]
    squared = (chosen**2).sum(1)[:, None] - 2 * chosen @ frames.T + (frames**2).sum(1)[None, :]
    return -0.5 * squared


def uniform(count: int, frames: int) -> np.ndarray:
    """Durations that split ``frames`` as evenly as possible among ``count`` phonemes."""
    edges = np.round(np.linspace(0, frames, count + 1)).astype(np.int64)
    return np.diff(edges)


def fit_means(pairs: list[tuple[np.ndarray, np.ndarray]], durations: list[np.ndarray], symbols: int) -> np.ndarray:
    """The mean frame of every symbol under the given alignments (a symbol never seen: the overall mean)."""
    dims = pairs[0][1].shape[1]
    sums, counts = np.zeros((symbols, dims)), np.zeros(symbols)
    for (ids, frames), duration in zip(pairs, durations):
        owner = np.repeat(ids, duration)
        np.add.at(sums, owner, frames)
        np.add.at(counts, owner, 1)
    overall = sums.sum(0) / max(counts.sum(), 1)
    return np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], overall)


def align_corpus(pairs: list[tuple[np.ndarray, np.ndarray]], symbols: int, rounds: int = 6) -> list[np.ndarray]:
    """Durations for every (phoneme ids, standardised log-mel frames) pair; each needs frames >= phonemes."""
    durations = [uniform(len(ids), len(frames)) for ids, frames in pairs]
    for _ in range(rounds):
        means = fit_means(pairs, durations, symbols)
        durations = [maximum_path(frame_scores(ids, frames, means)) for ids, frames in pairs]
    return durations
