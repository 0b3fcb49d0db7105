"""Torch-free serving half of audio-cls: audio file bytes -> log-mels (the same numpy front end as
preprocessing) -> top-k keywords. Used by `predict`, export checks and the Bento."""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.audio import decoding, features
from aiaas_recipes.common.scores import LabelAdapter, one_answer, one_prediction, to_row

SERVICE = "aiaas_recipes.audio_cls.service:AudioService"
INPUT_NAME = "features"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "to_row"]


class AudioAdapter(LabelAdapter):
    """Decodes audio uploads for a model exported by the audio-cls recipe."""

    def __init__(self, metadata: dict[str, Any], max_seconds: float | None = None):
        self.labels = list(metadata["labels"])
        self.front = front_of(metadata)
        trim = metadata.get("trim_db")
        self.limits = {
            "min_seconds": float(metadata["min_seconds"]),
            # a request may hold less than training allowed, not more
            "max_seconds": min(float(max_seconds or metadata["max_seconds"]), float(metadata["max_seconds"])),
            "trim_db": None if trim is None else float(trim),
        }

    def decode(self, payload: bytes) -> np.ndarray:
        """One model-length clip of float32 samples; raises BadInput saying what is wrong with the audio."""
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise BadInput(f"expected audio file bytes, got {type(payload).__name__}")
        try:
            samples = decoding.load(bytes(payload), self.front["rate"], **self.limits)
        except decoding.BadAudio as exc:
            status = 413 if str(exc).startswith("too long") else 400
            raise BadInput(str(exc), status=status) from None
        return decoding.fit_clip(samples, self.front["clip"])

    def batch(self, items: list[np.ndarray]) -> dict[str, np.ndarray]:
        """{"features": (N, n_mels, frames) float32 log-mels, or (N, samples) normalised waveforms for a hub
        model}."""
        return {INPUT_NAME: features.model_inputs(np.stack(items), self.front)}


def front_of(metadata: dict[str, Any]) -> dict[str, Any]:
    """The front end recorded in the model's metadata: a hub model's waveform settings (its feature extractor's
    rate and normalisation), or the recipe's log-mel settings."""
    if metadata.get("input") == "waveform":
        return {"input": "waveform", "rate": int(metadata["rate"]), "clip": int(metadata["clip"]),
                "do_normalize": bool(metadata["do_normalize"])}  # fmt: skip
    return {key: int(metadata[key]) for key in ("rate", "clip", "n_mels", "win", "hop", "n_fft")}


def build_adapter(metadata: dict[str, Any], max_seconds: float | None = None) -> AudioAdapter:
    """The adapter for audio-cls models; ``max_seconds`` (from `serve.limits`) caps an upload's duration."""
    return AudioAdapter(metadata, max_seconds=max_seconds)


def http_request(name: str, payload: bytes, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one recording: a multipart upload."""
    from pathlib import Path

    return {"files": {"audio": (Path(name).name, payload)}, "data": {"k": str(k)}}
