"""The networks of image-gen: a small U-Net denoiser (diffusion), a conditional VAE and a DCGAN-style GAN.

Every one takes a class label; index ``num_classes`` is the "no class" label (classifier-free guidance's
unconditional pass, and the only label of a flat, unconditional folder). Images are (N, C, H, W) in [-1, 1].
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def _groups(channels: int) -> int:
    return math.gcd(channels, 8)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of the (float) timestep, as in the Transformer's positions."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, the time-and-class embedding added in between, and a residual path."""

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(_groups(in_ch), in_ch), nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, out_ch)
        self.norm2, self.conv2 = nn.GroupNorm(_groups(out_ch), out_ch), nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.emb(emb)[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class UNet(nn.Module):
    """eps(x_t, t, label): one ResBlock per level on the way down and up, skip connections between them."""

    def __init__(self, num_classes: int, image_channels: int, channels=(32, 64), emb_dim: int = 128):
        super().__init__()
        channels = list(channels)
        self.emb_dim = emb_dim
        self.time = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label = nn.Embedding(num_classes + 1, emb_dim)
        self.stem = nn.Conv2d(image_channels, channels[0], 3, padding=1)
        ins = [channels[0], *channels[:-1]]
        self.down = nn.ModuleList(ResBlock(i, o, emb_dim) for i, o in zip(ins, channels))
        self.mid = ResBlock(channels[-1], channels[-1], emb_dim)
        self.up = nn.ModuleList(ResBlock(o + o, i, emb_dim) for i, o in reversed(list(zip(ins, channels))))
        self.head = nn.Sequential(nn.GroupNorm(_groups(channels[0]), channels[0]), nn.SiLU(),
                                  nn.Conv2d(channels[0], image_channels, 3, padding=1))  # fmt: skip

    def forward(self, x: torch.Tensor, t: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        emb = self.time(timestep_embedding(t, self.emb_dim)) + self.label(label)
        h, skips = self.stem(x), []
        for i, block in enumerate(self.down):
            h = block(h if i == 0 else F.avg_pool2d(h, 2), emb)
            skips.append(h)
        h = self.mid(h, emb)
        for i, block in enumerate(self.up):
            if i > 0:
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        return self.head(h)


def _up(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(in_ch, out_ch, 3, padding=1),
                         nn.BatchNorm2d(out_ch), nn.ReLU())  # fmt: skip


class Decoder(nn.Module):
    """image(z, label): the VAE's decoder and the GAN's generator (DCGAN: upsample-conv-BN-ReLU, tanh out)."""

    def __init__(self, num_classes: int, image_channels: int, image_size: int, latent_dim: int, channels=(64, 32)):
        super().__init__()
        self.start, self.width = image_size // 4, channels[0]
        self.label = nn.Embedding(num_classes + 1, latent_dim)
        self.fc = nn.Sequential(nn.Linear(2 * latent_dim, channels[0] * self.start**2), nn.ReLU())
        self.body = nn.Sequential(_up(channels[0], channels[1]), _up(channels[1], channels[1]),
                                  nn.Conv2d(channels[1], image_channels, 3, padding=1), nn.Tanh())  # fmt: skip

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, self.label(label)], dim=1))
        return self.body(h.view(-1, self.width, self.start, self.start))


class Encoder(nn.Module):
    """Strided convolutions to features (the VAE's encoder, the GAN's discriminator body); spectral norm for D."""

    def __init__(self, image_channels: int, image_size: int, channels=(32, 64), spectral: bool = False):
        super().__init__()
        wrap = nn.utils.parametrizations.spectral_norm if spectral else (lambda m: m)
        self.body = nn.Sequential(
            wrap(nn.Conv2d(image_channels, channels[0], 4, 2, 1)), nn.LeakyReLU(0.2),
            wrap(nn.Conv2d(channels[0], channels[1], 4, 2, 1)), nn.LeakyReLU(0.2), nn.Flatten(),
        )  # fmt: skip
        self.features = channels[1] * (image_size // 4) ** 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class VAE(nn.Module):
    """A conditional VAE: q(z | x, label) and p(x | z, label); ``decoder`` is what is exported."""

    def __init__(self, num_classes: int, image_channels: int, image_size: int, latent_dim: int = 16, channels=(32, 64)):
        super().__init__()
        self.encoder = Encoder(image_channels, image_size, channels)
        self.label = nn.Embedding(num_classes + 1, 32)
        self.stats = nn.Linear(self.encoder.features + 32, 2 * latent_dim)
        self.decoder = Decoder(num_classes, image_channels, image_size, latent_dim, tuple(reversed(channels)))

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.stats(torch.cat([self.encoder(x), self.label(label)], 1)).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z, label), mu, logvar


class Discriminator(nn.Module):
    """A projection discriminator (Miyato & Koyama 2018) with spectral norm: a realness score per (image, label)."""

    def __init__(self, num_classes: int, image_channels: int, image_size: int, channels=(32, 64)):
        super().__init__()
        self.encoder = Encoder(image_channels, image_size, channels, spectral=True)
        self.out = nn.utils.parametrizations.spectral_norm(nn.Linear(self.encoder.features + 1, 1))
        self.label = nn.Embedding(num_classes + 1, self.encoder.features)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        # minibatch standard deviation (Karras et al. 2018): a batch of near-copies is easy to call fake, which
        # pushes the generator away from collapsing onto one image per class
        spread = h.std(0).mean().expand(len(h), 1) if len(h) > 1 else h.new_zeros(len(h), 1)
        return self.out(torch.cat([h, spread], 1)).squeeze(1) + (self.label(label) * h).sum(1) / h.shape[1] ** 0.5


class GAN(nn.Module):
    """The generator (exported) and the discriminator (training only)."""

    def __init__(self, num_classes: int, image_channels: int, image_size: int, latent_dim: int = 32, channels=(32, 64)):
        super().__init__()
        self.generator = Decoder(num_classes, image_channels, image_size, latent_dim, tuple(reversed(channels)))
        self.discriminator = Discriminator(num_classes, image_channels, image_size, channels)


def build(model_cfg, meta: dict) -> nn.Module:
    """The network of ``model_cfg.kind`` for the data in ``meta`` (classes, channels, size)."""
    sizes = {"num_classes": len(meta["classes"]), "image_channels": int(meta["channels"])}
    channels = tuple(model_cfg.channels)
    if model_cfg.kind == "diffusion":
        return UNet(**sizes, channels=channels, emb_dim=int(model_cfg.emb_dim))
    kind = {"vae": VAE, "gan": GAN}[model_cfg.kind]
    return kind(**sizes, image_size=int(meta["image_size"]), latent_dim=int(model_cfg.latent_dim), channels=channels)


def sampler_module(net: nn.Module, kind: str) -> nn.Module:
    """The part of ``net`` that sampling runs (and export writes): the denoiser, the decoder or the generator."""
    return {"diffusion": net, "vae": getattr(net, "decoder", None), "gan": getattr(net, "generator", None)}[kind]
