"""The Dirac-GAN (Mescheder et al. 2018, "Which training methods for GANs do actually converge?",
Section 2.2): the smallest GAN on which a training method's convergence can be seen.

The data are a point mass at 0 (``genbench.data.dirac``), the generator is one parameter,
G(z) = theta for every latent, and the discriminator is linear without bias, D(x) = psi * x. The
unique equilibrium is (theta, psi) = (0, 0). The paper shows that with alternating gradient steps
unregularised GANs and WGANs circle it without converging, while instance noise and zero-centred
gradient penalties (R1, R2) converge to it; ``suites/convergence.yaml`` reruns that comparison.

genbench's logits score how real a sample looks (``genbench.losses.gan``), the paper's D how fake,
so psi here is the paper's -psi: trajectories are the paper's mirrored in psi, the same dynamics.
The model's ``probes`` record theta, psi and the distance sqrt(theta^2 + psi^2) to the
equilibrium at every evaluation.

Both networks treat every leading dimension as a batch dimension and broadcast their parameter
over it (``member_view``), so an ensemble stacks them (``genbench.models.stacking``).
"""

from __future__ import annotations

import torch
from torch import nn

from genbench.errors import GenbenchError
from genbench.metrics.keys import KEY_EQUILIBRIUM_DISTANCE, KEY_PSI, KEY_THETA
from genbench.models.broadcast import member_view
from genbench.models.parts import GanParts

#: G ignores its latent, but a latent is drawn per sample as for every GAN (one value each)
LATENT_DIM = 1


class DiracGenerator(nn.Module):
    """G(z) = theta: latents [..., batch, 1] -> samples [..., batch, 1], all equal to theta."""

    def __init__(self, theta: float) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(float(theta)))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return member_view(self.theta, latents).expand(latents.shape)


class DiracDiscriminator(nn.Module):
    """D(x) = psi * x: samples [..., batch, 1] -> logits [..., batch]."""

    def __init__(self, psi: float) -> None:
        super().__init__()
        self.psi = nn.Parameter(torch.tensor(float(psi)))

    def forward(self, samples: torch.Tensor) -> torch.Tensor:
        return (member_view(self.psi, samples) * samples).squeeze(-1)


def dirac_state(parts: GanParts) -> dict[str, torch.Tensor]:
    """theta, psi and their Euclidean distance to the equilibrium (0, 0), of one trial's networks."""
    theta, psi = parts.generator.theta, parts.discriminator.psi
    return {KEY_THETA: theta, KEY_PSI: psi, KEY_EQUILIBRIUM_DISTANCE: torch.hypot(theta, psi)}


def build_dirac_gan(data_shape: tuple[int, ...], theta_init: float, psi_init: float) -> GanParts:
    if tuple(data_shape) != (1,):
        raise GenbenchError(
            f"model 'dirac_gan' generates one number per sample; the dataset's samples have shape "
            f"{tuple(data_shape)} (use dataset 'dirac')"
        )
    return GanParts(
        generator=DiracGenerator(theta_init),
        discriminator=DiracDiscriminator(psi_init),
        latent_dim=LATENT_DIM,
        probes=dirac_state,
    )
