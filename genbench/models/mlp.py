"""MLP generator and discriminator for vector data (the 2-D mixtures), with PacGAN packing."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from genbench.errors import GenbenchError
from genbench.models.parts import GanParts


def mlp(
    inputs: int, hidden: int, depth: int, outputs: int, activation: Callable[[], nn.Module]
) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = inputs
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)


class PackedDiscriminator(nn.Module):
    """Judges ``pack`` samples jointly (Lin et al. 2018, PacGAN): consecutive samples are
    concatenated, so a discriminator that sees several samples at once can tell a collapsed
    generator from the data. One logit per pack; ``pack=1`` is the ordinary discriminator."""

    def __init__(self, sample_shape: tuple[int, ...], hidden: int, depth: int, pack: int) -> None:
        super().__init__()
        self.pack = pack
        self.sample_dims = len(sample_shape)
        self.network = mlp(math.prod(sample_shape) * pack, hidden, depth, 1, lambda: nn.LeakyReLU(0.2))

    def forward(self, samples: torch.Tensor) -> torch.Tensor:
        """Samples [..., batch, *sample_shape] -> logits [..., batch / pack]: every dimension
        before the batch's is a batch dimension too (an ensemble's member dimension)."""
        batch_dim = samples.dim() - self.sample_dims - 1
        batch = samples.shape[batch_dim]
        if batch % self.pack:
            raise GenbenchError(f"PacGAN pack={self.pack} needs a batch size divisible by it, got {batch}")
        packed = samples.reshape(*samples.shape[:batch_dim], batch // self.pack, -1)
        return self.network(packed).squeeze(-1)


def build_mlp_gan(
    data_shape: tuple[int, ...], latent_dim: int, hidden: int, depth: int, pack: int
) -> GanParts:
    sample_size = math.prod(data_shape)
    generator = nn.Sequential(
        mlp(latent_dim, hidden, depth, sample_size, nn.ReLU), nn.Unflatten(-1, tuple(data_shape))
    )
    discriminator = PackedDiscriminator(tuple(data_shape), hidden, depth, pack)
    return GanParts(generator=generator, discriminator=discriminator, latent_dim=latent_dim)
