"""Reading audio (torch-free, shared by preprocess, `predict` and the service): any libsndfile format to
mono float32 at the model's rate, fitted to the model's clip length."""

from __future__ import annotations

import io
from math import gcd

import numpy as np

# libsndfile decodes these (MP3 since 1.1); others (M4A/AAC, WMA) need converting first
CONVERT_HINT = (
    "not audio in a format this reads (WAV, FLAC, OGG, MP3); M4A/AAC and others need converting first, "
    "e.g. ffmpeg -i in.m4a out.wav"
)


# Leading bytes of the formats libsndfile reads: a file that starts like one is damaged, not in another format.
SIGNATURES = {b"RIFF": "WAV", b"RIFX": "WAV", b"fLaC": "FLAC", b"OggS": "OGG", b"ID3": "MP3", b"\xff\xfb": "MP3"}


class BadAudio(ValueError):
    """Audio that cannot be used: unreadable, empty, too short or too long (the message says which)."""


def _unrecognised(data: bytes) -> BadAudio:
    claimed = next((kind for magic, kind in SIGNATURES.items() if data.startswith(magic)), None)
    return BadAudio(f"damaged {claimed} file (its header cannot be read)" if claimed else CONVERT_HINT)


MAX_CHANNELS = 32  # a header may declare thousands; every one would be decoded


def _too_long(seconds: float, max_seconds: float) -> BadAudio:
    return BadAudio(f"too long: {seconds:.1f} s, above the limit of {max_seconds:g} s")


def _read(data: bytes, max_seconds: float = float("inf")) -> tuple[np.ndarray, int]:
    """The file's (frames, channels) float32 samples and rate. A file longer than ``max_seconds`` is refused from
    its header, and never more than that is decoded (a header can lie about its length): a few KB of compressed
    silence would otherwise cost hundreds of MB once decoded."""
    import soundfile

    if not data:
        raise BadAudio("empty file")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as sound:
            rate, declared = int(sound.samplerate), int(sound.frames)
            if sound.channels > MAX_CHANNELS:
                raise BadAudio(f"{sound.channels} channels, above the limit of {MAX_CHANNELS}")
            if declared > max_seconds * rate:
                raise _too_long(declared / rate, max_seconds)
            limit = -1 if max_seconds == float("inf") else int(max_seconds * rate) + 1
            samples = sound.read(frames=limit, dtype="float32", always_2d=True)
    except soundfile.LibsndfileError as exc:
        text = str(exc)
        if "Format not recognised" in text or "unknown format" in text.lower():
            raise _unrecognised(data) from None
        raise BadAudio(f"cannot decode audio: {text.splitlines()[0]}") from None
    except (RuntimeError, ValueError, TypeError) as exc:  # soundfile raises these for damaged headers
        if isinstance(exc, BadAudio):
            raise
        raise BadAudio(f"cannot decode audio: {exc}") from None
    if len(samples) > max_seconds * rate:
        raise _too_long(len(samples) / rate, max_seconds)
    return samples, rate


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling (scipy) from ``rate`` to ``target`` Hz."""
    if rate == target:
        return samples
    from scipy.signal import resample_poly

    step = gcd(rate, target)
    return resample_poly(samples, target // step, rate // step).astype(np.float32)


def trim_silence(samples: np.ndarray, rate: int, top_db: float) -> np.ndarray:
    """Drop leading and trailing 10 ms frames quieter than ``top_db`` below the loudest frame."""
    frame = max(rate // 100, 1)
    frames = len(samples) // frame
    if frames < 2:
        return samples
    energy = (samples[: frames * frame].reshape(frames, frame) ** 2).mean(axis=1) + 1e-12
    loud = np.flatnonzero(10 * np.log10(energy / energy.max()) > -float(top_db))
    return samples[loud[0] * frame : (loud[-1] + 1) * frame]


def fit_clip(samples: np.ndarray, length: int) -> np.ndarray:
    """Exactly ``length`` samples: zero-padded on both sides, or the window around the energy's centre."""
    if len(samples) <= length:
        left = (length - len(samples)) // 2
        return np.pad(samples, (left, length - len(samples) - left))
    energy = samples.astype(np.float64) ** 2
    centre = int(round((energy * np.arange(len(samples))).sum() / max(energy.sum(), 1e-12)))
    start = min(max(centre - length // 2, 0), len(samples) - length)
    return samples[start : start + length]


def load(data: bytes, rate: int, min_seconds: float, max_seconds: float, trim_db: float | None = None) -> np.ndarray:
    """Mono float32 samples at ``rate`` Hz from the bytes of an audio file; raises BadAudio."""
    samples, source_rate = _read(data, max_seconds)
    if samples.size == 0:
        raise BadAudio("no audio samples")
    mono = samples.mean(axis=1)
    if not np.isfinite(mono).all():
        raise BadAudio("audio holds NaN or infinite samples")
    mono = resample(mono, source_rate, rate)
    if trim_db is not None:
        mono = trim_silence(mono, rate, trim_db)
    if len(mono) / rate < min_seconds:
        raise BadAudio(f"too short: {len(mono) / rate:.3f} s, below {min_seconds:g} s")
    return mono.astype(np.float32)
