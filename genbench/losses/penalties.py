"""Discriminator regularizers usable with any loss.

A penalty is an extra term of the discriminator's objective that needs the network itself, not only
its logits; a suite names one as ``penalty:``, and a loss may come with its own (WGAN-GP's gradient
penalty). Weight clipping is a constraint rather than a term: it runs after each discriminator
update. The training step takes both through its hooks (``genbench.train.gan.GanHooks``).

Batches come with a leading member dimension, [E, batch, ...] (an ensemble of trials; E = 1 for a
trial alone), and a penalty is one value per member, [E]. Its randomness comes from the members'
own seeded streams (``noise``), never from the global generator, which members share.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from genbench.train.streams import MemberStreams


class DiscriminatorPenalty(Protocol):
    """What a penalty computes from the discriminator and the batches it has just scored."""

    def __call__(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, noise: MemberStreams
    ) -> torch.Tensor: ...


def input_gradient_norms(
    discriminator: nn.Module, samples: torch.Tensor, create_graph: bool = False
) -> torch.Tensor:
    """||grad_x D(x)|| per discriminator output (per pack under PacGAN), of the logits' shape;
    ``samples`` must require grad. Members are independent, so the gradient of the summed logits
    is each member's own."""
    logits = discriminator(samples)
    (gradients,) = torch.autograd.grad(logits.sum(), samples, create_graph=create_graph)
    return gradients.reshape(*logits.shape, -1).norm(dim=-1)


def zero_centred_penalty(discriminator: nn.Module, samples: torch.Tensor, gamma: float) -> torch.Tensor:
    """gamma/2 * E||grad_x D(x)||^2 at ``samples``, taken as constants (detached from whatever
    made them), per member: the zero-centred gradient penalty of R1 and R2."""
    norms = input_gradient_norms(discriminator, samples.detach().requires_grad_(True), create_graph=True)
    return 0.5 * gamma * (norms**2).mean(-1)


class R1Penalty:
    """gamma/2 * E||grad_x D(x)||^2 on real data (Mescheder et al. 2018, "Which training methods
    for GANs do actually converge?"): it pushes the discriminator towards zero gradient on the data
    manifold, which stabilises training near equilibrium."""

    def __init__(self, gamma: float) -> None:
        self.gamma = gamma

    def __call__(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, noise: MemberStreams
    ) -> torch.Tensor:
        return zero_centred_penalty(discriminator, real, self.gamma)


class R2Penalty:
    """gamma/2 * E||grad_x D(x)||^2 on the fake samples the discriminator has just scored, detached
    from the generator (Mescheder et al. 2018, where R1 and R2 are introduced): R1's counterpart on
    the generator's distribution. Together with R1 it makes a relativistic pairing GAN converge
    (Huang et al. 2024, R3GAN)."""

    def __init__(self, gamma: float) -> None:
        self.gamma = gamma

    def __call__(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, noise: MemberStreams
    ) -> torch.Tensor:
        return zero_centred_penalty(discriminator, fake, self.gamma)


class GradientPenalty:
    """weight * E[(||grad D(x_hat)|| - 1)^2] on random interpolates x_hat of real and fake samples
    (Gulrajani et al. 2017, "Improved training of Wasserstein GANs"): a soft version of the
    1-Lipschitz constraint the Wasserstein critic needs, without clipping's loss of capacity.

    The interpolation weights come from the members' penalty streams.
    """

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, noise: MemberStreams
    ) -> torch.Tensor:
        # one weight per sample: shape [batch, 1, ...] per member
        mix = noise.uniform((real.shape[1],) + (1,) * (real.dim() - 2)).to(real.dtype)
        interpolates = (mix * real + (1 - mix) * fake.detach()).requires_grad_(True)
        norms = input_gradient_norms(discriminator, interpolates, create_graph=True)
        return self.weight * ((norms - 1) ** 2).mean(-1)


class WeightClipping:
    """Clips every discriminator parameter to [-clip, clip] after an update, the original WGAN's
    crude way to keep the critic roughly Lipschitz (Arjovsky et al. 2017)."""

    def __init__(self, clip: float) -> None:
        self.clip = clip

    @torch.no_grad()
    def __call__(self, discriminator: nn.Module) -> None:
        for parameter in discriminator.parameters():
            parameter.clamp_(-self.clip, self.clip)
