"""The model's input, torch-free (shared by preprocessing, evaluation, `predict` and the service): one
utterance's log-mels, long recordings cut into windows at quiet points, and padded batches."""

from __future__ import annotations

import numpy as np

from aiaas_recipes.common.audio import features


def utterance_features(samples: np.ndarray, front: dict) -> np.ndarray:
    """(n_mels, frames) log-mels of one utterance, standardised over that utterance alone."""
    return features.log_mel(samples[None], **features.settings(front))[0]


def pad(mels: list[np.ndarray], frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(N, n_mels, T) zero-padded log-mels (T: the longest, or ``frames``) and (N,) lengths."""
    lengths = np.asarray([m.shape[1] for m in mels], dtype=np.int64)
    frames = int(frames or (lengths.max() if len(mels) else 1))
    batch = np.zeros((len(mels), mels[0].shape[0] if mels else 1, frames), dtype=np.float32)
    for row, mel in zip(batch, mels):
        row[:, : mel.shape[1]] = mel
    return batch, lengths


def cut_points(samples: np.ndarray, rate: int, window: int, search_seconds: float = 1.5) -> list[int]:
    """Where to cut a recording longer than ``window`` samples: at the quietest 10 ms in the last
    ``search_seconds`` of each window, so a cut rarely falls inside a word."""
    frame, cuts, start = max(rate // 100, 1), [], 0
    while len(samples) - start > window:
        lo = start + max(window - int(search_seconds * rate), window // 2)
        span = samples[lo : start + window]
        energy = (span[: len(span) // frame * frame].reshape(-1, frame) ** 2).mean(axis=1)
        start = lo + int(energy.argmin()) * frame if len(energy) else start + window
        cuts.append(start)
    return cuts


def windows(samples: np.ndarray, front: dict) -> list[tuple[float, np.ndarray]]:
    """(start in seconds, log-mels) of each window of a recording (one when it fits); each fits ``window_frames``."""
    hop, win = int(front["hop"]), int(front["win"])
    window = (int(front["window_frames"]) - 1) * hop + win  # samples that make exactly window_frames frames
    cuts = cut_points(samples, int(front["rate"]), window)
    starts = [0, *cuts]
    pieces = np.split(samples, cuts)
    return [
        (start / int(front["rate"]), utterance_features(piece, front))
        for start, piece in zip(starts, pieces)
        if len(piece) >= win
    ]
