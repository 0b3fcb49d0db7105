"""Random colours for the built-in synthetic image datasets (image-seg's and image-det's shapes)."""

from __future__ import annotations

import numpy as np


def random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def contrasting(rng: np.random.Generator, background: tuple[int, int, int], distance: int) -> tuple[int, int, int]:
    """A random colour at least ``distance`` (summed over R, G, B) from the background: an object people could
    outline."""
    while True:
        colour = random_colour(rng)
        if sum(abs(a - b) for a, b in zip(colour, background)) >= distance:
            return colour
