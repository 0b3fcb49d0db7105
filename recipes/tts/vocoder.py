"""The acoustic front end and its inverse in numpy (torch-free, shared by preprocess, evaluation, `predict` and the
service): log-mel spectrograms of speech, and Griffin-Lim from a log-mel back to a waveform, then 16-bit WAV."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from aiaas_recipes.audio_cls.features import mel_filterbank

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
    padded = np.pad(samples.astype(np.float32), frames.n_fft // 2)
    count = 1 + (len(padded) - frames.n_fft) // frames.hop
    index = np.arange(frames.n_fft)[None, :] + frames.hop * np.arange(count)[:, None]
    return np.fft.rfft(padded[index] * _window(frames.n_fft), axis=-1)


def istft(spectrum: np.ndarray, frames: Frames, length: int) -> np.ndarray:
    """Weighted overlap-add inverse of ``stft``, ``length`` samples long."""
    pieces = np.fft.irfft(spectrum, n=frames.n_fft, axis=-1) * _window(frames.n_fft)
    total = frames.n_fft + frames.hop * (len(pieces) - 1)
    out, norm = np.zeros(total, np.float64), np.zeros(total, np.float64)
    window_sq = _window(frames.n_fft).astype(np.float64) ** 2
    for i, piece in enumerate(pieces):  # frames are few (100 a second): a loop is fast enough and clear
        out[i * frames.hop : i * frames.hop + frames.n_fft] += piece
        norm[i * frames.hop : i * frames.hop + frames.n_fft] += window_sq
    out /= np.maximum(norm, 1e-8)
    start = frames.n_fft // 2
    return out[start : start + length].astype(np.float32)


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
    phase = np.exp(2j * np.pi * np.random.default_rng(0).random(magnitude.shape))
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
