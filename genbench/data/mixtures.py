"""2-D Gaussian mixtures with known modes: the benchmark where mode collapse is measured exactly.

Ring and grid mixtures follow Metz et al. 2017 (unrolled GANs), Srivastava et al. 2017 (VEEGAN)
and Lin et al. 2018 (PacGAN). Ring centres sit at angles 2*pi*i/K for i = 0..K-1 (the widely copied
``linspace(0, 2*pi, K)`` repeats the first centre and so has only K-1 distinct modes).
"""

from __future__ import annotations

import math

import torch


class GaussianMixture:
    """Equal-weight isotropic Gaussians around ``mode_centres`` with standard deviation ``mode_std``."""

    def __init__(self, centres: torch.Tensor, std: float) -> None:
        self.mode_centres = centres.float()
        self.mode_std = float(std)
        self.shape = (centres.shape[1],)

    @property
    def num_modes(self) -> int:
        return self.mode_centres.shape[0]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        device = generator.device
        centres = self.mode_centres.to(device)
        component = torch.randint(self.num_modes, (n,), generator=generator, device=device)
        noise = torch.randn(n, self.shape[0], generator=generator, device=device)
        return centres[component] + self.mode_std * noise


class RingMixture(GaussianMixture):
    def __init__(self, modes: int, radius: float, std: float) -> None:
        angles = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
        centres = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
        super().__init__(centres, std)


class GridMixture(GaussianMixture):
    def __init__(self, side: int, spacing: float, std: float) -> None:
        offsets = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
        rows, columns = torch.meshgrid(offsets, offsets, indexing="ij")
        super().__init__(torch.stack([rows.reshape(-1), columns.reshape(-1)], dim=1), std)
