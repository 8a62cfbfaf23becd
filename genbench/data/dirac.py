"""The Dirac-GAN's data: a point mass at 0 (Mescheder et al. 2018, "Which training methods for GANs
do actually converge?", Section 2.2).

The simplest distribution that is not absolutely continuous: every sample is exactly 0. With it,
a generator G(z) = theta and a discriminator D(x) = psi * x (``genbench.models.dirac``) have one
equilibrium, (theta, psi) = (0, 0), and whether a training method reaches it can be read off two
numbers. It offers the mixtures' interface (``genbench.data.mixtures``): one mode centre at 0,
with ``tolerance`` as the mode's scale, so the ``modes`` metric counts a generated sample as on the
point when it lies within ``quality_radius * tolerance`` of 0 (a point mass has no spread of its own).
"""

from __future__ import annotations

import torch


class DiracPoint:
    """Samples of shape (1,), all 0."""

    shape = (1,)
    num_modes = 1

    def __init__(self, tolerance: float) -> None:
        self.mode_centres = torch.zeros(1, 1)
        self.mode_std = float(tolerance)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` zeros; the stream is not drawn from (there is nothing random to draw)."""
        return torch.zeros(n, *self.shape, device=generator.device)
