"""The built-in keywords: spoken with espeak-ng (common/audio/espeak.py) across accents, voice variants, rates and
pitches, with gain and noise augmentation. Generated once, deterministically, offline; test and val voices are never
heard in training."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_recipes.common.audio.espeak import ACCENTS, RATE, SPLIT_VARIANTS, render
from aiaas_recipes.common.data import builtin

BUILTINS = ("keywords",)
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "yes", "no", "stop", "go")


def write_keywords(out_dir: Path, per_voice: int = 2, seed: int = 0, words=WORDS, accents=ACCENTS) -> None:
    """``split/word/accent+variant_i.wav`` for every word, voice and rendering (16 kHz 16-bit WAV)."""
    import soundfile

    rng = np.random.default_rng(seed)
    for split, variants in SPLIT_VARIANTS.items():
        for word in words:
            folder = out_dir / split / word
            folder.mkdir(parents=True, exist_ok=True)
            for accent in accents:
                for variant in variants:
                    for i in range(per_voice):
                        rate, pitch = int(rng.integers(120, 221)), int(rng.integers(25, 76))
                        clip = render(word, f"{accent}+{variant}", rate, pitch, rng)
                        soundfile.write(folder / f"{accent}+{variant}_{i}.wav", clip, RATE, subtype="PCM_16")


def materialize(name: str) -> Path:
    """Write the built-in dataset ``name`` once; return its root."""
    return builtin.materialize(name, BUILTINS, f"audio-{name}-v1", write_keywords)
