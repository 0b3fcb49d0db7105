"""Sample-quality scores in a feature space: the Fréchet distance (FID's formula, without Inception), k-NN
precision/recall (Kynkäänniemi et al. 2019), and the nearest-training-image distance (memorisation)."""

from __future__ import annotations

import warnings

import numpy as np


def frechet(real: np.ndarray, fake: np.ndarray) -> float:
    """||mu_r - mu_f||^2 + Tr(C_r + C_f - 2 (C_r C_f)^1/2) of two feature sets."""
    from scipy import linalg

    mu_r, mu_f = real.mean(0), fake.mean(0)
    cov_r, cov_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # few samples: a singular product, handled below
        root = linalg.sqrtm(cov_r @ cov_f)
    if not np.isfinite(root).all():  # a singular product: nudge both covariances (as pytorch-fid does)
        eye = np.eye(len(cov_r)) * 1e-6
        root = linalg.sqrtm((cov_r + eye) @ (cov_f + eye))
    return float(((mu_r - mu_f) ** 2).sum() + np.trace(cov_r + cov_f - 2 * np.real(root)))


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum((a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T, 0))


def _radii(points: np.ndarray, k: int) -> np.ndarray:
    """Each point's distance to its k-th nearest neighbour in its own set."""
    d = _distances(points, points)
    return np.sort(d, axis=1)[:, min(k, len(points) - 1)]


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Precision: the share of generated samples inside the real data's k-NN balls; recall: the share of real
    samples inside the generated samples' balls."""
    precision = (_distances(fake, real) <= _radii(real, k)[None, :]).any(1).mean()
    recall = (_distances(real, fake) <= _radii(fake, k)[None, :]).any(1).mean()
    return float(precision), float(recall)


def nearest_rms(images: np.ndarray, train: np.ndarray) -> float:
    """Mean over ``images`` of the RMS pixel difference (0-1 units) to the closest training image."""
    a = images.reshape(len(images), -1).astype(np.float64) / 255.0
    b = train.reshape(len(train), -1).astype(np.float64) / 255.0
    return float(_distances(a, b).min(1).mean() / np.sqrt(a.shape[1]))


def class_mean_baseline(train_x: np.ndarray, train_y: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Per requested label: the class's mean training image plus Gaussian noise with the class's per-pixel std."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(labels), *train_x.shape[1:]), dtype=np.uint8)
    for label in np.unique(labels):
        members = train_x[train_y == label].astype(np.float64)
        rows = np.flatnonzero(labels == label)
        noisy = members.mean(0) + rng.standard_normal((len(rows), *members.shape[1:])) * members.std(0)
        out[rows] = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    return out
