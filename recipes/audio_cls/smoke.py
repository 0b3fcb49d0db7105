"""A tiny generated keyword set for quick checks (the contract test): tones whose pitch names the class."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TONES = {"low": 300.0, "mid": 900.0, "high": 2400.0}


def tone_folders(root: Path, per_class: int = 10, rate: int = 16000, seed: int = 0) -> Path:
    """Class folders of short noisy tones (16-bit WAV), one folder per pitch."""
    import soundfile

    rng = np.random.default_rng(seed)
    for name, hz in TONES.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            t = np.arange(int(rate * rng.uniform(0.3, 0.8))) / rate
            wave = 0.5 * np.sin(2 * np.pi * hz * rng.uniform(0.95, 1.05) * t) + rng.normal(0, 0.05, len(t))
            soundfile.write(root / name / f"{i:03d}.wav", wave.astype(np.float32), rate, subtype="PCM_16")
    return root
