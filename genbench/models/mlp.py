"""MLP generator and discriminator for vector data (the 2-D mixtures), with PacGAN packing and
ProGAN's minibatch standard deviation; the discriminator may be sized apart from the generator."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from genbench.errors import GenbenchError
from genbench.models.minibatch_std import MinibatchStd
from genbench.models.params import MlpGanParams
from genbench.models.parts import GanParts


def hidden_layers(
    inputs: int, hidden: int, depth: int, activation: Callable[[], nn.Module]
) -> list[nn.Module]:
    """``depth`` linear layers of ``hidden`` units, each followed by ``activation``."""
    layers: list[nn.Module] = []
    width = inputs
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    return layers


def mlp(
    inputs: int, hidden: int, depth: int, outputs: int, activation: Callable[[], nn.Module]
) -> nn.Sequential:
    width = hidden if depth else inputs
    return nn.Sequential(*hidden_layers(inputs, hidden, depth, activation), nn.Linear(width, outputs))


class PackedDiscriminator(nn.Module):
    """Judges ``pack`` samples jointly (Lin et al. 2018, PacGAN): consecutive samples are
    concatenated, so a discriminator that sees several samples at once can tell a collapsed
    generator from the data. One logit per pack; ``pack=1`` is the ordinary discriminator.

    With ``minibatch_group``, its last layer also reads the minibatch standard deviation over
    groups of that many packs (Karras et al. 2018, ``genbench.models.minibatch_std``).
    """

    def __init__(
        self, sample_shape: tuple[int, ...], hidden: int, depth: int, pack: int, minibatch_group: int | None
    ) -> None:
        super().__init__()
        self.pack = pack
        self.sample_dims = len(sample_shape)
        inputs = math.prod(sample_shape) * pack
        layers = hidden_layers(inputs, hidden, depth, lambda: nn.LeakyReLU(0.2))
        width = hidden if depth else inputs
        if minibatch_group is not None:
            layers.append(MinibatchStd(minibatch_group, feature_dims=1))
            width += 1
        self.network = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, samples: torch.Tensor) -> torch.Tensor:
        """Samples [..., batch, *sample_shape] -> logits [..., batch / pack]: every dimension
        before the batch's is a batch dimension too (an ensemble's member dimension)."""
        batch_dim = samples.dim() - self.sample_dims - 1
        batch = samples.shape[batch_dim]
        if batch % self.pack:
            raise GenbenchError(f"PacGAN pack={self.pack} needs a batch size divisible by it, got {batch}")
        packed = samples.reshape(*samples.shape[:batch_dim], batch // self.pack, -1)
        return self.network(packed).squeeze(-1)


def build_mlp_gan(data_shape: tuple[int, ...], **params: Any) -> GanParts:
    """The generator and discriminator of ``MlpGanParams`` (resolved here: a trial's spec leaves
    out the settings added later while they hold their defaults)."""
    settings = MlpGanParams(**params)
    sample_size = math.prod(data_shape)
    generator = nn.Sequential(
        mlp(settings.latent_dim, settings.hidden, settings.depth, sample_size, nn.ReLU),
        nn.Unflatten(-1, tuple(data_shape)),
    )
    discriminator = PackedDiscriminator(
        tuple(data_shape),
        *settings.discriminator_size,
        settings.pack,
        settings.minibatch_group if settings.minibatch_std else None,
    )
    return GanParts(generator=generator, discriminator=discriminator, latent_dim=settings.latent_dim)
