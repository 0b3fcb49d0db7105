"""Torch-free serving half of asr: audio file bytes -> windows of log-mels (the same numpy front end as
preprocessing) -> greedy CTC transcripts. Used by `predict`, export checks and the Bento.

Every window is padded to the model's window length, so the feeds of concurrent requests have one shape and
the service's micro-batcher can run them together; the network ignores padding, so the text is the same."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput, read_files
from aiaas_recipes.asr import text as chars
from aiaas_recipes.asr.formats import AUDIO_SUFFIXES, audio_files
from aiaas_recipes.asr.frontend import pad, windows
from aiaas_recipes.common.audio import decoding
from aiaas_recipes.common.scores import one_answer, one_prediction

SERVICE = "aiaas_recipes.asr.service:SpeechService"
INPUT_NAMES = ("features", "lengths")
OUTPUT_NAME = "log_probs"
FRONT_KEYS = ("rate", "n_mels", "win", "hop", "n_fft", "window_frames")
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "read_inputs", "to_row"]
INPUT_SUFFIXES = AUDIO_SUFFIXES  # what `aiaas predict` takes from a folder: the recordings, not transcripts beside them


@dataclass
class Recording:
    windows: list[tuple[float, np.ndarray]]  # (start in seconds, (n_mels, frames) log-mels) of each window
    duration_s: float


class SpeechAdapter:
    """Decodes audio uploads for a model exported by the asr recipe and writes out what it heard."""

    def __init__(self, metadata: dict[str, Any], max_seconds: float | None = None):
        self.alphabet = list(metadata["alphabet"])
        self.front = {key: int(metadata[key]) for key in FRONT_KEYS}
        trim = metadata.get("trim_db")
        self.limits = {
            "min_seconds": float(metadata["min_seconds"]),
            # long recordings are transcribed in windows: only the upload limit bounds them
            "max_seconds": float(max_seconds or 600.0),
            "trim_db": None if trim is None else float(trim),
        }

    def decode(self, payload: bytes) -> Recording:
        """The recording's windows of log-mels; raises BadInput saying what is wrong with the audio."""
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise BadInput(f"expected audio file bytes, got {type(payload).__name__}")
        try:
            samples = decoding.load(bytes(payload), self.front["rate"], **self.limits)
        except decoding.BadAudio as exc:
            raise BadInput(str(exc), status=413 if str(exc).startswith("too long") else 400) from None
        parts = windows(samples, self.front)
        if not parts:
            raise BadInput("too short to transcribe")
        return Recording(parts, round(len(samples) / self.front["rate"], 3))

    def batch(self, items: list[Recording]) -> dict[str, np.ndarray]:
        """{"features": (W, n_mels, window_frames), "lengths": (W,)} for the W windows of all items."""
        features, lengths = pad([mel for item in items for _, mel in item.windows], self.front["window_frames"])
        return dict(zip(INPUT_NAMES, (features, lengths)))

    def postprocess(self, outputs: dict[str, np.ndarray], items: list[Recording], k: int) -> list[dict]:
        """{"text", "duration_s", "words"} per item: its windows' greedy transcripts joined, with word times."""
        log_probs, row, answers = outputs[OUTPUT_NAME], 0, []
        step = chars.STRIDE * self.front["hop"] / self.front["rate"]  # seconds per output frame
        for item in items:
            words = []
            for start, mel in item.windows:
                frames = chars.output_frames(mel.shape[1])
                words += chars.greedy_words(log_probs[row], frames, self.alphabet, step, start)
                row += 1
            text = " ".join(w["word"] for w in words)
            answers.append({"text": text, "duration_s": item.duration_s, "words": words})
        return answers


def build_adapter(metadata: dict[str, Any], max_seconds: float | None = None) -> SpeechAdapter:
    """The adapter for asr models; ``max_seconds`` (from `serve.limits`) caps an upload's duration."""
    return SpeechAdapter(metadata, max_seconds=max_seconds)


def read_inputs(paths: list[Path]) -> list[tuple[str, Any]]:
    """`aiaas predict`'s inputs: the audio files among ``paths`` (a folder's transcripts are not recordings)."""
    return list(read_files(audio_files(paths)))


def http_request(name: str, payload: bytes, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one recording: a multipart upload."""
    return {"files": {"audio": (Path(name).name, payload)}}


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """`aiaas predict`'s record: the file, its transcript, duration and timed words."""
    return {"input": name, **prediction}
