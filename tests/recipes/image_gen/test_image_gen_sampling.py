"""The numpy sampling loop: deterministic per seed, independent of what else is in the batch, guidance as
documented; the scores behave on known inputs."""

from __future__ import annotations

import numpy as np

from aiaas_recipes.image_gen import sampling, scores

META = {"kind": "diffusion", "image_size": 4, "channels": 1, "timesteps": 50, "null_label": 3, "latent_dim": 2}


def denoiser(calls: list | None = None):
    """A fixed linear 'denoiser' whose answer depends on the label, counting its batch sizes."""

    def eps(x, t, label):
        if calls is not None:
            calls.append(len(x))
        return (0.5 * x + 0.1 * label.reshape(-1, 1, 1, 1)).astype(np.float32)

    return eps


def feeds(labels, seeds, steps, guidance):
    n = len(labels)
    return {"label": np.array(labels, np.int64), "seed": np.array(seeds, np.int64),
            "steps": np.full(n, steps, np.int64) if np.isscalar(steps) else np.array(steps, np.int64),
            "guidance": np.full(n, guidance, np.float32)}  # fmt: skip


def test_same_seed_same_image_whatever_the_batch():
    alone = sampling.generate("diffusion", denoiser(), feeds([1], [7], 5, 2.0), META)
    batched = sampling.generate("diffusion", denoiser(), feeds([0, 1, 2], [3, 7, 9], [5, 5, 8], 2.0), META)
    assert alone.shape == (1, 4, 4, 1) and alone.dtype == np.uint8
    np.testing.assert_array_equal(alone[0], batched[1])
    other = sampling.generate("diffusion", denoiser(), feeds([1], [8], 5, 2.0), META)
    assert not np.array_equal(alone, other)


def test_steps_are_the_denoiser_calls_and_guidance_one_skips_the_unconditional_pass():
    calls: list = []
    sampling.generate("diffusion", denoiser(calls), feeds([0, 1], [1, 2], 6, 1.0), META)
    assert calls == [2] * 6
    calls.clear()
    sampling.generate("diffusion", denoiser(calls), feeds([0, 1], [1, 2], 4, 3.0), META)
    assert calls == [4] * 4  # conditional and unconditional rows in one call
    assert list(sampling.ddim_times(50, 4)) == sorted(sampling.ddim_times(50, 4), reverse=True)


def test_latent_models_decode_one_latent_per_seed():
    meta = {**META, "kind": "gan"}
    decode = lambda z, label: np.tanh(z.sum(1)).reshape(-1, 1, 1, 1) * np.ones((1, 1, 4, 4), np.float32)  # noqa: E731
    a = sampling.generate("gan", decode, feeds([0, 1], [5, 6], 1, 1.0), meta)
    b = sampling.generate("gan", decode, feeds([1], [6], 1, 1.0), meta)
    np.testing.assert_array_equal(a[1], b[0])


def test_schedule_and_uint8_range():
    alpha_bar = sampling.cosine_schedule(1000)
    assert alpha_bar[0] > 0.99 and alpha_bar[-1] < 1e-3 and np.all(np.diff(alpha_bar) < 0)
    pixels = sampling.to_uint8(np.array([[[[-2.0, -1.0], [0.0, 1.5]]]], np.float32))
    assert pixels.reshape(-1).tolist() == [0, 0, 128, 255]


def test_frechet_precision_recall_and_baseline():
    rng = np.random.default_rng(0)
    real, same, far = rng.normal(size=(300, 4)), rng.normal(size=(300, 4)), rng.normal(3, 1, size=(300, 4))
    assert scores.frechet(real, same) < 0.3 < 30 < scores.frechet(real, far)
    precision, recall = scores.precision_recall(real, same)
    assert precision > 0.8 and recall > 0.8
    assert scores.precision_recall(real, far)[0] < 0.2
    train_x = np.concatenate([np.zeros((5, 4, 4, 1)), np.full((5, 4, 4, 1), 200)]).astype(np.uint8)
    baseline = scores.class_mean_baseline(train_x, np.repeat([0, 1], 5), np.array([1, 0, 1]))
    assert baseline[0].min() == 200 and baseline[1].max() == 0  # no spread in the class: its mean exactly
    assert scores.nearest_rms(train_x[:2], train_x) == 0.0
