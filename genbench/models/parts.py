"""What a model entry builds: the networks of one GAN, and how to draw its latents."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class GanParts:
    """A generator (and, when it is trained, its discriminator) over Gaussian latents."""

    generator: nn.Module
    discriminator: nn.Module | None
    latent_dim: int

    def latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator, device=generator.device)
