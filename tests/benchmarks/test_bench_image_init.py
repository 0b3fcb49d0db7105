"""bench_image_init's foreign image set: the same files for the same seed, at the built-in digits' scale."""

from __future__ import annotations

import numpy as np
from PIL import Image

from benchmarks.bench_image_init import LETTERS, PER_SPLIT, write_letters


def test_the_letters_are_deterministic_split_and_at_the_digits_scale(tmp_path):
    first, second = write_letters(tmp_path / "a", seed=3), write_letters(tmp_path / "b", seed=3)
    files = sorted(p.relative_to(first) for p in first.rglob("*.png"))
    assert len(files) == len(LETTERS) * sum(PER_SPLIT.values())
    assert {p.parts[0] for p in files} == set(PER_SPLIT) and {p.parts[1] for p in files} == set(LETTERS)
    assert all((first / p).read_bytes() == (second / p).read_bytes() for p in files)
    pixels = np.asarray(Image.open(first / files[0]))
    assert pixels.shape == (8, 8) and set(np.unique(pixels)) <= {round(v * 255 / 16) for v in range(17)}
    assert pixels.max() > 128  # ink is there
