"""The log-mel front end."""

from __future__ import annotations

import numpy as np

from aiaas_recipes.common.audio import features


def tone(hz, rate):
    return np.sin(2 * np.pi * hz * np.arange(rate // 4) / rate).astype(np.float32)


def test_log_mel_puts_a_tone_in_its_band():
    mels = features.log_mel(tone(1000.0, 16000)[None], rate=16000, n_mels=40, win=400, hop=160, n_fft=512)
    assert mels.shape == (1, 40, 1 + (4000 - 400) // 160)
    centres = features.mel_filterbank(16000, 512, 40).argmax(axis=0) * 16000 / 512
    assert abs(centres[mels[0].mean(axis=1).argmax()] - 1000.0) < 150
