"""Torch-free serving half of tts: text -> phoneme ids (espeak-ng) -> ONNX acoustic model -> log-mel -> Griffin-Lim
-> 16-bit WAV. Used by `predict`, export checks and the Bento alike, so a served WAV equals a local one."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.tts import text
from aiaas_recipes.tts.vocoder import Frames, griffin_lim, wav_bytes

SERVICE = "aiaas_recipes.tts.service:SpeechService"
INPUT_NAMES = ("phonemes", "lengths", "speed")
OUTPUT_NAMES = ("mel", "mel_lengths", "durations")
MIN_SPEED, MAX_SPEED = 0.5, 2.0
__all__ = [
    "SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "read_inputs", "render_output",
    "to_row",
]  # fmt: skip


class SpeechAdapter:
    """Phonemises request texts and turns the model's mels into WAV audio."""

    def __init__(self, metadata: dict[str, Any], max_characters: int | None = None):
        self.vocabulary = list(metadata["vocabulary"])
        self.language = str(metadata["language"])
        self.frames = Frames.of(metadata)
        self.mean = np.asarray(metadata["mel_mean"], np.float32)
        self.std = np.asarray(metadata["mel_std"], np.float32)
        self.iterations = int(metadata["griffin_lim_iterations"])
        # every batch is padded to this many phonemes: requests batched together then have the same shape
        self.max_phonemes = int(metadata["max_phonemes"])
        self.max_characters = min(int(max_characters or metadata["max_characters"]), int(metadata["max_characters"]))

    def decode(self, payload: Any) -> dict:
        """{"text", "speed", "ids", "symbols"} from {"text": str, "speed": float} or a plain string."""
        request = payload if isinstance(payload, dict) else {"text": payload}
        words, speed = request.get("text"), request.get("speed", 1.0)
        if not isinstance(words, str):
            raise BadInput(f"text must be a string, got {type(words).__name__}", status=422)
        if not words.strip():
            raise BadInput("text is empty: send a sentence to speak")
        if len(words) > self.max_characters:
            raise BadInput(f"text is {len(words)} characters long, above the limit of {self.max_characters}", 413)
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not MIN_SPEED <= speed <= MAX_SPEED:
            raise BadInput(f"speed must be a number from {MIN_SPEED} to {MAX_SPEED}, got {speed!r}", status=422)
        symbols = text.tokens(words, self.language)
        if not symbols:
            raise BadInput("the text has no pronounceable words", status=422)
        if len(symbols) > self.max_phonemes:
            raise BadInput(f"text has {len(symbols)} phonemes, above the limit of {self.max_phonemes}", status=413)
        return {"text": words, "speed": float(speed), "ids": text.encode(symbols, self.vocabulary), "symbols": symbols}

    def batch(self, items: list[dict]) -> dict[str, np.ndarray]:
        """{"phonemes": (N, max_phonemes) int64, "lengths": (N,) int64, "speed": (N,) float32}."""
        phonemes = np.zeros((len(items), self.max_phonemes), np.int64)
        for i, item in enumerate(items):
            phonemes[i, : len(item["ids"])] = item["ids"]
        lengths = np.array([len(item["ids"]) for item in items], np.int64)
        return {"phonemes": phonemes, "lengths": lengths, "speed": np.array([i["speed"] for i in items], np.float32)}

    def waveform(self, mel: np.ndarray) -> np.ndarray:
        """Samples from one standardised mel (frames, n_mels)."""
        return griffin_lim(mel * self.std + self.mean, self.frames, self.iterations)

    def postprocess(self, outputs: dict[str, Any], items: list[dict], k: int) -> list[dict]:
        """One {"audio_base64" (a WAV file), "sample_rate", "seconds", "phonemes"} per item."""
        answers = []
        for i, item in enumerate(items):
            mel = outputs["mel"][i, : int(outputs["mel_lengths"][i])]
            samples = self.waveform(mel)
            answers.append({
                "audio_base64": base64.b64encode(wav_bytes(samples, self.frames.rate)).decode(),
                "sample_rate": self.frames.rate,
                "seconds": round(len(samples) / self.frames.rate, 3),
                "phonemes": "".join(item["symbols"]),
            })  # fmt: skip
        return answers


def build_adapter(metadata: dict[str, Any], max_characters: int | None = None) -> SpeechAdapter:
    """The adapter for tts models; ``max_characters`` (from `serve.limits`) caps a request's text."""
    return SpeechAdapter(metadata, max_characters=max_characters)


def read_inputs(paths: list[Path]) -> list[tuple[str, Any]]:
    """One input per non-empty line of each text file, named ``file:line``."""
    found: list[tuple[str, Any]] = []
    for path in paths:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            found.append((str(path), OSError(f"cannot read text file: {exc}")))
            continue
        found += [(f"{path}:{n}", line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
    return found


def http_request(name: str, payload: Any, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` asks for one sentence: JSON, the answer as JSON too (the WAV base64-encoded)."""
    body = payload if isinstance(payload, dict) else {"text": payload}
    return {"json": {"text": body["text"], "speed": body.get("speed", 1.0), "format": "json"}}


def http_response(predictions: list[dict]) -> dict:
    """The JSON body of `/predict` with "format": "json" (its default answer is the WAV file itself)."""
    return dict(predictions[0])


def http_predictions(body: dict) -> list[dict]:
    return [body] if "audio_base64" in body else []


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """The record `aiaas predict` writes: the text, the audio's length and the WAV itself (base64)."""
    words = payload["text"] if isinstance(payload, dict) else payload
    return {"input": name, "text": words, **prediction}


def render_output(payload: Any, prediction: dict) -> tuple[str, bytes]:
    """The WAV file of one prediction, for `aiaas predict --save DIR` (or `--output DIR/`)."""
    return ".wav", base64.b64decode(prediction["audio_base64"])
