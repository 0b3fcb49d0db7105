"""Training of the three kinds: DDPM noise prediction (with an EMA copy that is exported), the VAE's ELBO and the
GAN's hinge game (spectral norm, projection discriminator, two learning rates). Batches come from the uint8 arrays."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch.nn import functional as F

from aiaas_recipes.common.data.rows import RowDataModule
from aiaas_recipes.common.module import ConfiguredModule
from aiaas_recipes.image_gen.sampling import cosine_schedule


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H, W) float in [-1, 1]."""
    return torch.from_numpy(np.asarray(pixels, dtype=np.float32)).permute(0, 3, 1, 2) / 127.5 - 1.0


class ImageDataModule(RowDataModule):
    arrays = ("x", "y")

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        return to_tensor(rows["x"]), torch.from_numpy(np.asarray(rows["y"], dtype=np.int64))


class DiffusionModule(ConfiguredModule):
    """eps-prediction MSE at a random timestep; labels dropped to the null label with probability ``cond_drop`` (so
    one network is both the conditional and the unconditional model of classifier-free guidance). ``net`` is the
    exponential moving average of the trained weights (``online``): what validation, evaluation and export use."""

    def __init__(self, net, optimizer, scheduler, meta: dict, timesteps: int, cond_drop: float, ema_decay: float):
        super().__init__(net, optimizer, scheduler, meta)
        self.online = copy.deepcopy(net)
        self.net.requires_grad_(False)
        self.null, self.cond_drop, self.ema_decay = int(meta["null_label"]), float(cond_drop), float(ema_decay)
        alpha_bar = torch.tensor(cosine_schedule(timesteps), dtype=torch.float32)
        self.register_buffer("alpha_bar", alpha_bar, persistent=False)

    def parameter_groups(self):
        return self.online.parameters()

    def _loss(self, net, x, y, generator=None):
        t = torch.randint(0, len(self.alpha_bar), (len(x),), generator=generator)
        eps = torch.randn(x.shape, generator=generator)
        a = self.alpha_bar[t].view(-1, 1, 1, 1)
        return F.mse_loss(net(a.sqrt() * x + (1 - a).sqrt() * eps, t.float(), y), eps)

    def training_step(self, batch, batch_idx):
        x, y = batch
        drop = torch.rand(len(y)) < self.cond_drop
        loss = self._loss(self.online, x, torch.where(drop, torch.full_like(y, self.null), y))
        self.log_loss("train", loss, len(y))
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx):
        step = self.global_step
        decay = min(self.ema_decay, (1 + step) / (10 + step))  # a short warm-up: early weights are forgotten fast
        with torch.no_grad():
            for ema, live in zip(self.net.parameters(), self.online.parameters()):
                ema.lerp_(live, 1 - decay)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        loss = self._loss(self.net, x, y, torch.Generator().manual_seed(batch_idx))  # the same noise every epoch
        self.log_loss("val", loss, len(y))


class VAEModule(ConfiguredModule):
    """Squared error summed over pixels plus ``beta`` times the KL divergence, per image."""

    def __init__(self, net, optimizer, scheduler, meta: dict, beta: float):
        super().__init__(net, optimizer, scheduler, meta)
        self.beta = float(beta)

    def _loss(self, x, y):
        recon, mu, logvar = self.net(x, y)
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
        return ((recon - x) ** 2).flatten(1).sum(1).mean() + self.beta * kl.mean()

    def training_step(self, batch, batch_idx):
        loss = self._loss(*batch)
        self.log_loss("train", loss, len(batch[1]))
        return loss

    def validation_step(self, batch, batch_idx):
        torch.manual_seed(batch_idx)
        self.log_loss("val", self._loss(*batch), len(batch[1]))


def moment_distance(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean squared gap of the per-pixel means and standard deviations of two image batches: a cheap, noisy check
    that the generator covers the data, the GAN's validation loss (its adversarial losses do not fall as it learns)."""
    return (fake.mean(0) - real.mean(0)).pow(2).mean() + (fake.std(0) - real.std(0)).pow(2).mean()


class GANModule(ConfiguredModule):
    """Hinge losses; the discriminator and the generator each take one Adam step per batch (their own rates)."""

    def __init__(self, net, meta: dict, latent_dim: int, lr_g: float, lr_d: float, betas):
        super().__init__(net, None, None, meta)
        self.automatic_optimization = False
        self.latent_dim, self.lr_g, self.lr_d, self.betas = int(latent_dim), float(lr_g), float(lr_d), tuple(betas)

    def configure_optimizers(self):
        g = torch.optim.Adam(self.net.generator.parameters(), lr=self.lr_g, betas=self.betas)
        d = torch.optim.Adam(self.net.discriminator.parameters(), lr=self.lr_d, betas=self.betas)
        return [g, d]

    def training_step(self, batch, batch_idx):
        x, y = batch
        opt_g, opt_d = self.optimizers()
        fake = self.net.generator(torch.randn(len(x), self.latent_dim), y)
        d = self.net.discriminator
        loss_d = F.relu(1 - d(x, y)).mean() + F.relu(1 + d(fake.detach(), y)).mean()
        opt_d.zero_grad()
        self.manual_backward(loss_d)
        opt_d.step()
        loss_g = -d(fake, y).mean()
        opt_g.zero_grad()
        self.manual_backward(loss_g)
        opt_g.step()
        self.log_loss("train", loss_d, len(y))

    def validation_step(self, batch, batch_idx):
        x, y = batch
        z = torch.randn(len(x), self.latent_dim, generator=torch.Generator().manual_seed(batch_idx))
        self.log_loss("val", moment_distance(self.net.generator(z, y), x), len(y))


def build_module(cfg, net, meta: dict) -> ConfiguredModule:
    """The LightningModule of ``cfg.model.kind`` around ``net``."""
    from aiaas_recipes.common.module import optimizers_from

    model = cfg.model
    if model.kind == "gan":
        return GANModule(net, meta, model.latent_dim, model.lr_g, model.lr_d, model.betas)
    optimizer, scheduler = optimizers_from(cfg)
    if model.kind == "vae":
        return VAEModule(net, optimizer, scheduler, meta, model.beta)
    return DiffusionModule(net, optimizer, scheduler, meta, model.timesteps, model.cond_drop, model.ema_decay)
