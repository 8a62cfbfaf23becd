"""What a model entry builds: the networks of one GAN or VAE, and how to draw its latents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class GanParts:
    """A generator (and, when it is trained, its discriminator) over Gaussian latents.

    ``probes``, where a model offers it, reads named scalars of the model's state from these
    networks (the Dirac-GAN's theta and psi): evaluation records them for each trial beside its
    metrics (``genbench.train.evaluation.state_probes``); the model's catalog entry declares their
    keys and directions (``outputs``).
    """

    generator: nn.Module
    discriminator: nn.Module | None
    latent_dim: int
    probes: Callable[[GanParts], dict[str, torch.Tensor]] | None = None

    def latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator, device=generator.device)


@dataclass
class VaeParts:
    """A VAE (Kingma & Welling 2014): a Gaussian encoder q(z|x), a decoder p(x|z) and the prior
    N(0, I) over ``latent_dim`` latents.

    It offers what evaluation asks of GanParts: ``generator`` is the decoder, whose forward pass
    maps z to the mean of p(x|z) in [-1, 1] (VAE samples are decoder means, as usual), and there
    is no discriminator. The encoder maps x to (mean, log variance) of q(z|x); the decoder also
    gives ``log_likelihood(x, z)``, log p(x|z) per example in nats.
    """

    encoder: nn.Module
    decoder: nn.Module
    latent_dim: int

    discriminator = None

    @property
    def generator(self) -> nn.Module:
        return self.decoder

    @property
    def likelihood(self) -> str:
        """'bernoulli' or 'gaussian', as the decoder was built."""
        return self.decoder.likelihood

    def latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator, device=generator.device)
