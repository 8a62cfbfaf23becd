"""Discriminator regularizers usable with any loss."""

from __future__ import annotations

import torch
from torch import nn

from genbench.losses.gan import input_gradient_norms


class R1Penalty:
    """gamma/2 * E||grad_x D(x)||^2 on real data (Mescheder et al. 2018, "Which training methods
    for GANs do actually converge?"): it pushes the discriminator towards zero gradient on the data
    manifold, which stabilises training near equilibrium."""

    def __init__(self, gamma: float = 10.0) -> None:
        self.gamma = gamma

    def __call__(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        norms = input_gradient_norms(discriminator, real.detach().requires_grad_(True), create_graph=True)
        return 0.5 * self.gamma * (norms**2).mean()
