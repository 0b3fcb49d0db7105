"""Image rows to network input, in torch: what the image recipes' datasets do to every batch."""

from __future__ import annotations

import numpy as np
import torch


class Standardiser:
    """(B, H, W, 3) uint8 rows -> (B, 3, H, W) float32, scaled to [0, 1] then standardised with the training set's
    per-channel statistics: transforms.normalize's torch twin, so training sees what serving sends."""

    def __init__(self, mean, std):
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def scale(self, rows: np.ndarray) -> torch.Tensor:
        """Channels first, in [0, 1] (where colour augmentation works)."""
        return torch.from_numpy(rows).permute(0, 3, 1, 2).float().div_(255.0)

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """In place."""
        return x.sub_(self.mean).div_(self.std)

    def __call__(self, rows: np.ndarray) -> torch.Tensor:
        return self.standardise(self.scale(rows))


def augment_batch(x: torch.Tensor, hflip: bool, pad: int) -> torch.Tensor:
    """Random horizontal flips and random shifts of up to ``pad`` pixels."""
    if hflip:
        flip = torch.rand(len(x)) < 0.5
        x[flip] = x[flip].flip(-1)
    if pad > 0:
        h, w = x.shape[-2:]
        padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
        offsets = torch.randint(0, 2 * pad + 1, (len(x), 2)).tolist()
        x = torch.stack([padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offsets)])
    return x
