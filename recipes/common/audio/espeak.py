"""Speech for the built-in audio datasets: espeak-ng (the library and its voices ship in the espeakng-loader wheel,
driven here through ctypes) across accents and voice variants, and the gain and noise augmentation of the rendered
clips. Test and val variants are never heard in training."""

from __future__ import annotations

import ctypes
from functools import lru_cache

import numpy as np

from aiaas_cli.errors import UserError
from aiaas_recipes.common.audio.decoding import resample

ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbcwmd", "en-gb-x-gbclan")
# voice variants (timbre, pitch range): whole variants are held out, so test speakers are unseen in training
SPLIT_VARIANTS = {
    "train": ("m1", "m2", "m4", "m6", "m7", "f1", "f3", "f5"),
    "val": ("m5", "f4"),
    "test": ("m3", "f2"),
}
RATE = 16000
_SYNCHRONOUS, _RATE, _PITCH = 2, 1, 3
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class Speaker:
    """libespeak-ng in synchronous mode: text in, 16-bit samples at its native rate out."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError:
            raise UserError(
                "the built-in keywords need espeak-ng: pip install espeakng-loader",
                "or pass your own recordings with data.path=/path/to/class/folders",
            ) from None
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.rate = self.lib.espeak_Initialize(_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if self.rate <= 0:
            raise UserError("espeak-ng failed to start (its voice data was not found)")
        self.chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept on self: libespeak holds only a raw pointer
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, count, events) -> int:
        if count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        return 0

    def say(self, text: str, voice: str, rate: int, pitch: int) -> np.ndarray:
        """float32 samples in [-1, 1] at ``self.rate``."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise UserError(f"espeak-ng has no voice '{voice}'")
        self.lib.espeak_SetParameter(_RATE, rate, 0)
        self.lib.espeak_SetParameter(_PITCH, pitch, 0)
        self.chunks = []
        data = text.encode()
        self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 0, None, None)
        self.lib.espeak_Synchronize()
        return np.concatenate(self.chunks).astype(np.float32) / 32768.0 if self.chunks else np.zeros(0, np.float32)


@lru_cache(maxsize=1)
def speaker() -> Speaker:
    return Speaker()  # one per process: libespeak-ng is a global singleton


def augment(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random gain (-20..0 dB), a random lead-in, and white noise 10-40 dB below the speech."""
    lead = np.zeros(int(rng.integers(0, RATE // 5)), np.float32)
    speech = np.concatenate([lead, samples])
    power = float(np.mean(samples**2)) + 1e-9
    noise = rng.normal(0.0, np.sqrt(power / 10 ** (rng.uniform(10, 40) / 10)), len(speech))
    gain = 10 ** (rng.uniform(-20, 0) / 20)
    return np.clip(gain * (speech + noise), -1, 1).astype(np.float32)


def render(text: str, voice: str, rate: int, pitch: int, rng: np.random.Generator) -> np.ndarray:
    """``text`` spoken by the espeak-ng ``voice`` at ``rate`` words per minute and ``pitch``, resampled to ``RATE``
    and augmented."""
    engine = speaker()
    return augment(resample(engine.say(text, voice, rate, pitch), engine.rate, RATE), rng)
