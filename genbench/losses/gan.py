"""GAN losses as functions of the discriminator's logits.

Logits come with a leading member dimension, [E, batch] (trials trained together as a vectorized
ensemble; E = 1 for a trial alone), and every objective is one value per member, [E]: reduce over
the last (batch) dimension only, so that summing the members' objectives gives each member its own
gradient.

Each loss gives the discriminator's and the generator's objective (both minimised). The generator's
objective receives the real logits too, so that relativistic losses, which compare fake with real
logits, are losses like any other; a loss that reads them says so (``generator_needs_real_logits``),
because computing them costs the step a discriminator pass.

A loss that needs the networks themselves (WGAN's weight clipping, WGAN-GP's gradient penalty,
RpGAN's R1 and R2) does not do that work here: it names the regularizers it comes with, and the
training step runs them through the same hooks as a suite's ``penalty:``
(``genbench.train.gan.GanHooks``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from genbench.errors import GenbenchError
from genbench.losses.penalties import (
    DiscriminatorPenalty,
    GradientPenalty,
    R1Penalty,
    R2Penalty,
    WeightClipping,
)


class GanLoss:
    """Base: a loss needs only the two objectives; it comes with no regularizers by default."""

    #: whether ``generator_loss`` reads ``real_logits``; if not, it gets None and the step skips
    #: the discriminator's pass on real data (which would also advance spectral norm's power
    #: iteration and so change the training of every loss that does not use it)
    generator_needs_real_logits: ClassVar[bool] = False
    #: extra terms of the discriminator's objective that this loss comes with
    discriminator_terms: tuple[DiscriminatorPenalty, ...] = ()
    #: called with the discriminator after each of its updates
    after_discriminator_update: tuple[Callable[[nn.Module], None], ...] = ()

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None) -> torch.Tensor:
        """The generator's objective; ``real_logits`` are the current discriminator's logits of
        the last real batch it trained on, given when ``generator_needs_real_logits``."""
        raise NotImplementedError


class NonSaturatingLoss(GanLoss):
    """D: -log D(x) - log(1 - D(G(z))); G: -log D(G(z)) (Goodfellow et al. 2014, the practical form)."""

    def discriminator_loss(self, real_logits, fake_logits):
        return F.softplus(-real_logits).mean(-1) + F.softplus(fake_logits).mean(-1)

    def generator_loss(self, fake_logits, real_logits):
        return F.softplus(-fake_logits).mean(-1)


class MinimaxLoss(NonSaturatingLoss):
    """G minimises log(1 - D(G(z))) = -softplus(logit): the original game, whose generator
    gradient vanishes when the discriminator wins (Goodfellow et al. 2014)."""

    def generator_loss(self, fake_logits, real_logits):
        return -F.softplus(fake_logits).mean(-1)


class WassersteinLoss(GanLoss):
    """Critic maximises E[D(x)] - E[D(G(z))] (Arjovsky et al. 2017)."""

    def discriminator_loss(self, real_logits, fake_logits):
        return fake_logits.mean(-1) - real_logits.mean(-1)

    def generator_loss(self, fake_logits, real_logits):
        return -fake_logits.mean(-1)


class WassersteinClipLoss(WassersteinLoss):
    """WGAN: the Wasserstein loss with the critic's weights clipped to [-clip, clip] after each
    update (Arjovsky et al. 2017)."""

    def __init__(self, clip: float) -> None:
        self.after_discriminator_update = (WeightClipping(clip),)


class WassersteinGradientPenaltyLoss(WassersteinLoss):
    """WGAN-GP: the Wasserstein loss with the gradient penalty, weighted by ``gp_weight``
    (Gulrajani et al. 2017)."""

    def __init__(self, gp_weight: float) -> None:
        self.discriminator_terms = (GradientPenalty(gp_weight),)


class HingeLoss(GanLoss):
    """D: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]; G: -E[D(G(z))] (Lim & Ye 2017)."""

    def discriminator_loss(self, real_logits, fake_logits):
        return F.relu(1 - real_logits).mean(-1) + F.relu(1 + fake_logits).mean(-1)

    def generator_loss(self, fake_logits, real_logits):
        return -fake_logits.mean(-1)


class LeastSquaresLoss(GanLoss):
    """D: 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]; G: 1/2 E[(D(G(z)) - 1)^2] (Mao et al. 2017)."""

    def discriminator_loss(self, real_logits, fake_logits):
        return 0.5 * ((real_logits - 1) ** 2).mean(-1) + 0.5 * (fake_logits**2).mean(-1)

    def generator_loss(self, fake_logits, real_logits):
        return 0.5 * ((fake_logits - 1) ** 2).mean(-1)


class RelativisticAverageLoss(GanLoss):
    """RaGAN in its standard (non-saturating) form, RaSGAN (Jolicoeur-Martineau 2019, "The
    relativistic discriminator: a key element missing from standard GAN"): the discriminator
    judges whether a real sample is more realistic than the average fake, and a fake less realistic
    than the average real; the generator plays the same game with the roles swapped, so it gets a
    gradient from the real samples too.

    D: E_x softplus(-(C(x) - E C(G(z)))) + E_z softplus(C(G(z)) - E C(x));
    G: E_z softplus(-(C(G(z)) - E C(x))) + E_x softplus(C(x) - E C(G(z))).

    The averages are over each member's own batch. The two terms are summed as in the paper and
    as ``ns`` does (the paper's code halves the sum, a factor Adam all but ignores).
    """

    generator_needs_real_logits = True

    def discriminator_loss(self, real_logits, fake_logits):
        return relativistic_average(real_logits, fake_logits)

    def generator_loss(self, fake_logits, real_logits):
        return relativistic_average(fake_logits, real_logits)


def relativistic_average(preferred: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """-E log sigmoid(C(a) - E C(b)) - E log(1 - sigmoid(C(b) - E C(a))) for ``preferred`` logits
    a and ``other`` logits b, [E, batch] each: the objective of whoever wants a to look more real."""
    preferred_mean, other_mean = preferred.mean(-1, keepdim=True), other.mean(-1, keepdim=True)
    return F.softplus(-(preferred - other_mean)).mean(-1) + F.softplus(other - preferred_mean).mean(-1)


class RelativisticPairingLoss(GanLoss):
    """RpGAN with R1 and R2 (Huang et al. 2024, "The GAN is dead; long live the GAN! A modern
    baseline GAN", R3GAN): each real sample is paired with one fake and the discriminator judges
    which of the two is real, D: E softplus(-(C(x_i) - C(G(z_i)))), G: E softplus(-(C(G(z_i)) -
    C(x_i))). Pairing makes every fake answer to a real sample, which removes the loss landscape's
    mode-dropping local minima (Sun et al. 2020, whom the paper follows); zero-centred gradient
    penalties on real (R1) and fake (R2) data, each gamma/2 * E||grad D||^2, make it converge.

    Pairs need as many real as fake logits: under PacGAN packing, one logit per pack on each side,
    pack i of the real batch paired with pack i of the fake one.
    """

    generator_needs_real_logits = True

    def __init__(self, gamma: float) -> None:
        # gamma 0: the unregularised RpGAN, without two penalty passes that would add nothing
        self.discriminator_terms = (R1Penalty(gamma), R2Penalty(gamma)) if gamma > 0 else ()

    def discriminator_loss(self, real_logits, fake_logits):
        return F.softplus(-paired_gap(real_logits, fake_logits)).mean(-1)

    def generator_loss(self, fake_logits, real_logits):
        return F.softplus(-paired_gap(fake_logits, real_logits)).mean(-1)


def paired_gap(preferred: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """C(a_i) - C(b_i) for each pair i; both [E, batch] of the same shape."""
    if preferred.shape != other.shape:
        raise GenbenchError(
            "the relativistic pairing loss pairs each real logit with one fake, but got logits of "
            f"shapes {tuple(preferred.shape)} and {tuple(other.shape)}: score as many real as fake samples"
        )
    return preferred - other
