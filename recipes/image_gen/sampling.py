"""The sampling loops in numpy, shared by evaluation (over the torch network), export's parity check, `predict` and
the service (over ONNX Runtime): the same code everywhere, so the same seed gives the same image. No torch here.

A network is a callable on numpy arrays: the diffusion denoiser ``eps(x, t, label)``; the VAE's decoder and the
GAN's generator ``image(z, label)``. Images are float32 (N, C, H, W) in [-1, 1] until ``to_uint8``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Denoiser = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
Decoder = Callable[[np.ndarray, np.ndarray], np.ndarray]


def cosine_schedule(timesteps: int, s: float = 0.008) -> np.ndarray:
    """alpha-bar of the cosine noise schedule (Nichol & Dhariwal 2021) for t = 0..T-1, float64."""
    steps = np.arange(timesteps + 1, dtype=np.float64) / timesteps
    f = np.cos((steps + s) / (1 + s) * np.pi / 2) ** 2
    betas = np.clip(1 - f[1:] / f[:-1], 0, 0.999)  # clipped so the last steps stay invertible
    return np.cumprod(1 - betas)


def ddim_times(timesteps: int, steps: int) -> np.ndarray:
    """``steps`` evenly spaced training timesteps, last (noisiest) first."""
    return np.unique(np.linspace(0, timesteps - 1, max(int(steps), 1)).round().astype(np.int64))[::-1]


def noise(seeds: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """One standard normal array of ``shape`` per seed, from numpy's Generator: the same seed, the same noise."""
    return np.stack([np.random.default_rng(int(seed)).standard_normal(shape, dtype=np.float32) for seed in seeds])


def guided_eps(denoise: Denoiser, x: np.ndarray, t: np.ndarray, labels: np.ndarray, guidance: np.ndarray,
               null_label: int) -> np.ndarray:  # fmt: skip
    """Classifier-free guidance: eps_uncond + w (eps_cond - eps_uncond); w = 1 is the plain conditional model, and
    then (or with no classes) the unconditional pass is skipped."""
    if np.all(guidance == 1.0) or np.all(labels == null_label):
        return denoise(x, t, labels)
    n = len(x)
    both = denoise(
        np.concatenate([x, x]), np.concatenate([t, t]), np.concatenate([labels, np.full_like(labels, null_label)])
    )
    cond, uncond = both[:n], both[n:]
    return uncond + guidance.reshape(-1, 1, 1, 1).astype(np.float32) * (cond - uncond)


def ddim(denoise: Denoiser, x: np.ndarray, labels: np.ndarray, guidance: np.ndarray, steps: int,
         alpha_bar: np.ndarray, null_label: int) -> np.ndarray:  # fmt: skip
    """Deterministic DDIM (eta = 0) from the noise ``x`` in ``steps`` denoiser calls (two batched as one with
    guidance); x0 is clipped to [-1, 1] at every step, which keeps few-step samples in range."""
    times = ddim_times(len(alpha_bar), steps)
    for i, step in enumerate(times):
        a_t = float(alpha_bar[step])
        a_prev = float(alpha_bar[times[i + 1]]) if i + 1 < len(times) else 1.0
        t = np.full(len(x), step, dtype=np.float32)
        eps = guided_eps(denoise, x, t, labels, guidance, null_label)
        x0 = np.clip((x - np.sqrt(1 - a_t) * eps) / np.sqrt(a_t), -1.0, 1.0)
        eps = (x - np.sqrt(a_t) * x0) / np.sqrt(1 - a_t)
        x = (np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps).astype(np.float32)
    return x


def to_uint8(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) floats in [-1, 1] -> (N, H, W, C) uint8."""
    pixels = np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return pixels.transpose(0, 2, 3, 1)


def generate(kind: str, network: Callable, feeds: dict[str, np.ndarray], meta: dict) -> np.ndarray:
    """uint8 images (N, H, W, C) for feeds {"label", "seed", "steps", "guidance"} (one value per image).

    Diffusion runs the items of each number of steps together; the VAE and the GAN decode one latent per seed.
    """
    labels = np.asarray(feeds["label"], dtype=np.int64)
    seeds = np.asarray(feeds["seed"], dtype=np.int64)
    size, channels = int(meta["image_size"]), int(meta["channels"])
    if kind != "diffusion":
        return to_uint8(network(noise(seeds, (int(meta["latent_dim"]),)), labels))
    steps = np.asarray(feeds["steps"], dtype=np.int64)
    guidance = np.asarray(feeds["guidance"], dtype=np.float32)
    alpha_bar = cosine_schedule(int(meta["timesteps"]))
    out = np.zeros((len(labels), size, size, channels), dtype=np.uint8)
    for count in np.unique(steps):
        rows = np.flatnonzero(steps == count)
        x = noise(seeds[rows], (channels, size, size))
        images = ddim(network, x, labels[rows], guidance[rows], int(count), alpha_bar, int(meta["null_label"]))
        out[rows] = to_uint8(images)
    return out
