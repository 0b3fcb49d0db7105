"""The acoustic front end and its inverse in numpy (torch-free, shared by preprocess, evaluation, `predict` and the
service): log-mel spectrograms of speech, and Griffin-Lim from a log-mel back to a waveform, then 16-bit WAV."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from aiaas_recipes.common.audio.features import mel_filterbank

FLOOR = 1e-5  # log floor of the mel energies: -11.5, far below speech


@dataclass(frozen=True)
class Frames:
    """STFT settings: sample rate, FFT size (= window), hop, mel bands."""

    rate: int = 16000
    n_fft: int = 512
    hop: int = 128
    n_mels: int = 64

    @classmethod
    def of(cls, meta: dict) -> Frames:
        return cls(*(int(meta[key]) for key in ("rate", "n_fft", "hop", "n_mels")))

    def as_dict(self) -> dict:
        return {"rate": self.rate, "n_fft": self.n_fft, "hop": self.hop, "n_mels": self.n_mels}


@lru_cache(maxsize=4)
def _window(n_fft: int) -> np.ndarray:
    return np.hanning(n_fft + 1)[:-1].astype(np.float32)


def stft(samples: np.ndarray, frames: Frames) -> np.ndarray:
    """(frames, n_fft // 2 + 1) complex spectrum; the signal is padded by half a window on both sides."""
    from scipy import fft

    padded = np.pad(samples.astype(np.float32), frames.n_fft // 2)
    count = 1 + (len(padded) - frames.n_fft) // frames.hop
    index = np.arange(frames.n_fft)[None, :] + frames.hop * np.arange(count)[:, None]
    return fft.rfft(padded[index] * _window(frames.n_fft), axis=-1)  # scipy keeps float32 (numpy: float64)


def istft(spectrum: np.ndarray, frames: Frames, length: int) -> np.ndarray:
    """Weighted overlap-add inverse of ``stft``, ``length`` samples long."""
    from scipy import fft

    pieces = fft.irfft(spectrum, n=frames.n_fft, axis=-1).astype(np.float32) * _window(frames.n_fft)
    out = _overlap_add(pieces, frames.hop) / _window_sum(len(pieces), frames.n_fft, frames.hop)
    start = frames.n_fft // 2
    return out[start : start + length]


def _overlap_add(pieces: np.ndarray, hop: int) -> np.ndarray:
    """Frames (count, width) summed at ``hop`` apart: one slice per hop-sized column block, not one per frame."""
    count, width = pieces.shape
    out = np.zeros(width + hop * (count - 1), np.float32)
    if width % hop:
        for i, piece in enumerate(pieces):
            out[i * hop : i * hop + width] += piece
        return out
    for k in range(width // hop):
        out[k * hop : k * hop + hop * count] += pieces[:, k * hop : (k + 1) * hop].reshape(-1)
    return out


@lru_cache(maxsize=64)
def _window_sum(count: int, n_fft: int, hop: int) -> np.ndarray:
    squared = np.broadcast_to(_window(n_fft) ** 2, (count, n_fft))
    return np.maximum(_overlap_add(np.ascontiguousarray(squared), hop), 1e-8)


def log_mel(samples: np.ndarray, frames: Frames) -> np.ndarray:
    """(frames, n_mels) natural-log mel energies of magnitude spectra."""
    magnitude = np.abs(stft(samples, frames)).astype(np.float32)
    return np.log(magnitude @ mel_filterbank(frames.rate, frames.n_fft, frames.n_mels) + FLOOR)


@lru_cache(maxsize=4)
def _inverse_bank(rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    return np.linalg.pinv(mel_filterbank(rate, n_fft, n_mels)).astype(np.float32)


def griffin_lim(mel: np.ndarray, frames: Frames, iterations: int = 32) -> np.ndarray:
    """A waveform whose log-mel is close to ``mel`` (frames, n_mels): the magnitude from the filterbank's
    pseudo-inverse, the phase found by Griffin-Lim (seeded, so the same mel always gives the same samples)."""
    magnitude = np.maximum(np.exp(mel.astype(np.float32)) - FLOOR, 0) @ _inverse_bank(
        frames.rate, frames.n_fft, frames.n_mels
    )
    magnitude = np.maximum(magnitude, 0)
    length = (len(mel) - 1) * frames.hop
    phase = np.exp(2j * np.pi * np.random.default_rng(0).random(magnitude.shape)).astype(np.complex64)
    samples = istft(magnitude * phase, frames, length)
    for _ in range(iterations):
        spectrum = stft(samples, frames)[: len(magnitude)]
        phase = spectrum / np.maximum(np.abs(spectrum), 1e-8)
        samples = istft(magnitude * phase, frames, length)
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    return samples * (0.9 / peak) if peak > 0.9 else samples


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """16-bit mono PCM WAV (the standard library's writer: no extra package in the Bento)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).round().astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return out.getvalue()
