"""GAN losses as functions of the discriminator's logits.

Each loss gives the discriminator's and the generator's objective (both minimised). Losses that
need the networks themselves (a gradient penalty, weight clipping) add them through the two hooks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GanLoss:
    """Base: a loss needs only the two objectives; the hooks default to doing nothing."""

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def discriminator_penalty(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> torch.Tensor | None:
        """An extra term of the discriminator's objective that needs the network itself."""
        return None

    def after_discriminator_step(self, discriminator: nn.Module) -> None:
        """Called after every discriminator update (weight clipping)."""


class NonSaturatingLoss(GanLoss):
    """D: -log D(x) - log(1 - D(G(z))); G: -log D(G(z)) (Goodfellow et al. 2014, the practical form)."""

    def discriminator_loss(self, real_logits, fake_logits):
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def generator_loss(self, fake_logits):
        return F.softplus(-fake_logits).mean()


class MinimaxLoss(NonSaturatingLoss):
    """G minimises log(1 - D(G(z))) = -softplus(logit): the original game, whose generator
    gradient vanishes when the discriminator wins (Goodfellow et al. 2014)."""

    def generator_loss(self, fake_logits):
        return -F.softplus(fake_logits).mean()


class WassersteinLoss(GanLoss):
    """Critic maximises E[D(x)] - E[D(G(z))] (Arjovsky et al. 2017)."""

    def discriminator_loss(self, real_logits, fake_logits):
        return fake_logits.mean() - real_logits.mean()

    def generator_loss(self, fake_logits):
        return -fake_logits.mean()


class WassersteinClipLoss(WassersteinLoss):
    """WGAN with the critic's weights clipped to [-clip, clip] to keep it roughly Lipschitz."""

    def __init__(self, clip: float = 0.01) -> None:
        self.clip = clip

    @torch.no_grad()
    def after_discriminator_step(self, discriminator):
        for parameter in discriminator.parameters():
            parameter.clamp_(-self.clip, self.clip)


class WassersteinGradientPenaltyLoss(WassersteinLoss):
    """WGAN-GP: gp_weight * E[(||grad D(x_hat)|| - 1)^2] on random interpolates of real and fake
    samples (Gulrajani et al. 2017)."""

    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = gp_weight

    def discriminator_penalty(self, discriminator, real, fake):
        shape = (real.shape[0],) + (1,) * (real.dim() - 1)
        mix = torch.rand(shape, device=real.device, dtype=real.dtype)
        interpolates = (mix * real + (1 - mix) * fake.detach()).requires_grad_(True)
        norms = input_gradient_norms(discriminator, interpolates, create_graph=True)
        return self.gp_weight * ((norms - 1) ** 2).mean()


class HingeLoss(GanLoss):
    """D: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]; G: -E[D(G(z))] (Lim & Ye 2017)."""

    def discriminator_loss(self, real_logits, fake_logits):
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()

    def generator_loss(self, fake_logits):
        return -fake_logits.mean()


class LeastSquaresLoss(GanLoss):
    """D: 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]; G: 1/2 E[(D(G(z)) - 1)^2] (Mao et al. 2017)."""

    def discriminator_loss(self, real_logits, fake_logits):
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()

    def generator_loss(self, fake_logits):
        return 0.5 * ((fake_logits - 1) ** 2).mean()


def input_gradient_norms(
    discriminator: nn.Module, samples: torch.Tensor, create_graph: bool = False
) -> torch.Tensor:
    """||grad_x D(x)|| per discriminator output (per pack under PacGAN); ``samples`` must
    require grad."""
    logits = discriminator(samples)
    (gradients,) = torch.autograd.grad(logits.sum(), samples, create_graph=create_graph)
    return gradients.reshape(logits.shape[0], -1).norm(dim=1)
