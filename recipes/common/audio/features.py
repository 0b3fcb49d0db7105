"""The log-mel front end in numpy: one function for the dataset, training-time checks, `predict` and the
service, so all of them feed the network the same numbers. A mel filterbank is a few lines; writing it here
keeps librosa (and its numba) out of the torch-free Bento."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def mel_filterbank(rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) triangular HTK-mel filters from 20 Hz to Nyquist."""
    bins = np.fft.rfftfreq(n_fft, 1.0 / rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(20.0), _hz_to_mel(rate / 2), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None] - lower) / (centre - lower)
    falling = (upper - bins[None]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).T.astype(np.float32)


def frame_count(length: int, win: int, hop: int) -> int:
    return 1 + (length - win) // hop


def log_mel(samples: np.ndarray, rate: int, n_mels: int, win: int, hop: int, n_fft: int) -> np.ndarray:
    """(N, n_mels, frames) float32 log-mel energies of (N, length) clips (Hann window, power spectrum)."""
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    frames = frame_count(samples.shape[1], win, hop)
    index = np.arange(win)[None, :] + hop * np.arange(frames)[:, None]
    windowed = samples[:, index] * np.hanning(win + 1)[:-1].astype(np.float32)
    power = np.abs(np.fft.rfft(windowed, n=n_fft, axis=-1)) ** 2
    mel = np.log(power.astype(np.float32) @ mel_filterbank(rate, n_fft, n_mels) + 1e-6).transpose(0, 2, 1)
    return standardize(mel)


def standardize(mel: np.ndarray, top_db: float = 50.0) -> np.ndarray:
    """Per clip: floor at ``top_db`` below its peak, then zero mean and unit variance. Recording gain and
    the padding's digital silence (log 1e-6, far below any noise floor) then no longer dominate the input."""
    floor = mel.max(axis=(1, 2), keepdims=True) - top_db / 10 * np.log(10)
    mel = np.maximum(mel, floor)
    mean, std = mel.mean(axis=(1, 2), keepdims=True), mel.std(axis=(1, 2), keepdims=True)
    return ((mel - mean) / (std + 1e-5)).astype(np.float32)


def settings(meta: dict) -> dict:
    """The front end's keyword arguments from a manifest or model metadata."""
    return {key: int(meta[key]) for key in ("rate", "n_mels", "win", "hop", "n_fft")}


def normalize_waveforms(samples: np.ndarray, do_normalize: bool) -> np.ndarray:
    """(N, length) clips as a Wav2Vec2-style feature extractor gives them: per clip zero mean and unit variance
    (Transformers' ``zero_mean_unit_var_norm`` without a mask, the same 1e-7), or unchanged."""
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    if not do_normalize:
        return samples
    mean, var = samples.mean(axis=1, keepdims=True), samples.var(axis=1, keepdims=True)
    return ((samples - mean) / np.sqrt(var + 1e-7)).astype(np.float32)


def model_inputs(clips: np.ndarray, front: dict) -> np.ndarray:
    """What the network takes for (N, length) clips: normalised waveforms for a hub waveform model (front
    ``input: waveform``), else log-mels."""
    if front.get("input") == "waveform":
        return normalize_waveforms(clips, bool(front["do_normalize"]))
    return log_mel(clips, **settings(front))
