"""The built-in seq-cls data: multivariate signals whose class lives in their temporal shape.

Classes come in pairs, each the time reversal of the other (a bump in channel a before one in b, or after;
a chirp rising in pitch or falling; a sawtooth that climbs slowly and drops, or jumps and decays). Reversal
keeps every order-free statistic of each channel (mean, spread, quantiles, even the size of the steps), so a
model of summary statistics can tell the pairs apart but not the classes within a pair; a model that reads
the order can. Generated from a seed, offline, in about a second.
"""

from __future__ import annotations

import numpy as np

FEATURES = ("a", "b", "c")
CLASSES = ("bump_a_then_b", "bump_b_then_a", "chirp_up", "chirp_down", "saw_rise", "saw_fall")


def _bumps(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Channel a bumps early, channel b late."""
    out = np.zeros((len(t), 3))
    width = rng.uniform(0.04, 0.1)
    out[:, 0] = rng.uniform(1.5, 3) * np.exp(-(((t - rng.uniform(0.15, 0.45)) / width) ** 2))
    out[:, 1] = rng.uniform(1.5, 3) * np.exp(-(((t - rng.uniform(0.55, 0.85)) / width) ** 2))
    return out


def _chirp(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Channel c oscillates ever faster; a and b carry a weak copy."""
    low, high = rng.uniform(1, 2), rng.uniform(5, 8)
    phase = 2 * np.pi * (low * t + (high - low) * t**2 / 2) + rng.uniform(0, 2 * np.pi)
    wave = rng.uniform(1, 2) * np.sin(phase)
    return np.stack([0.3 * wave, -0.3 * wave, wave], 1)


def _saw(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Channels a and c climb slowly and drop at once, a few times over."""
    cycles = rng.uniform(2, 4)
    wave = rng.uniform(1, 2) * ((t * cycles + rng.uniform(0, 1)) % 1.0 - 0.5)
    return np.stack([wave, np.zeros_like(t), 0.7 * wave], 1)


SHAPES = (_bumps, _chirp, _saw)


def generate(per_class: int, min_length: int, max_length: int, noise: float, seed: int):
    """(sequences as (steps, 3) float32 arrays, class names, labels), shuffled."""
    rng = np.random.default_rng(seed)
    sequences, labels = [], []
    for index in range(len(CLASSES)):
        shape, reverse = SHAPES[index // 2], index % 2 == 1
        for _ in range(per_class):
            steps = int(rng.integers(min_length, max_length + 1))
            values = shape(np.linspace(0, 1, steps), rng)
            values = values[::-1] if reverse else values
            values = values + rng.normal(0, 0.5, 3) + rng.normal(0, noise, values.shape)  # offsets, noise
            sequences.append(values.astype(np.float32))
            labels.append(index)
    order = rng.permutation(len(labels))
    return [sequences[i] for i in order], list(CLASSES), np.asarray(labels, dtype=np.int64)[order]
