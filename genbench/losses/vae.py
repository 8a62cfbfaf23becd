"""VAE objectives: the negative ELBO, its beta-weighted form, and KL warm-up.

For one example x and one reparameterised draw z = mean + sigma * eps from q(z|x) (Kingma & Welling
2014), the negative ELBO is reconstruction + KL, with

    reconstruction = -log p(x|z)                       (one-sample estimate, nats)
    KL = KL(q(z|x) || N(0, I)) = 1/2 sum_u (mean_u^2 + sigma_u^2 - 1 - log sigma_u^2)   (closed form)

Objectives minimise reconstruction + w(t) * KL averaged over the batch, where the KL weight at
update t (counted from 0) is w(t) = beta * min(1, t / warmup_steps): beta-VAE's beta > 1 trades
reconstruction for a more factorised latent code (Higgins et al. 2017), and the linear warm-up from
0 lets the decoder learn to use z before the KL term pulls q(z|x) onto the prior, against posterior
collapse (Bowman et al. 2016; Sønderby et al. 2016). The ELBO itself (w = 1) is what is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from genbench.models.parts import VaeParts
from genbench.models.vae import reparameterise


@dataclass
class ElboTerms:
    """Per-example terms of the negative ELBO in nats, each of shape (..., N), and the posterior
    means; leading dimensions are an ensemble's members, when it has them."""

    reconstruction: torch.Tensor
    kl: torch.Tensor
    #: E_q[z | x] per example, (..., N, latent_dim): kept so that active units need no second encoding
    posterior_mean: torch.Tensor

    @property
    def negative_elbo(self) -> torch.Tensor:
        return self.reconstruction + self.kl


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag(exp(log_var))) || N(0, I)) per row, in nats."""
    return 0.5 * (mean**2 + log_var.exp() - 1 - log_var).sum(dim=-1)


#: standard normal noise of the shape of the posterior mean it is given
NoiseSource = Callable[[torch.Tensor], torch.Tensor]


def noise_from(generator: torch.Generator) -> NoiseSource:
    """Noise for one network's posterior, drawn from ``generator``."""
    return lambda mean: torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)


def elbo_terms(networks: VaeParts, x: torch.Tensor, noise: NoiseSource) -> ElboTerms:
    """Encode x, draw one z per example with ``noise``, and decode it."""
    mean, log_var = networks.encoder(x)
    z = reparameterise(mean, log_var, noise(mean))
    return ElboTerms(
        reconstruction=-networks.decoder.log_likelihood(x, z),
        kl=gaussian_kl(mean, log_var),
        posterior_mean=mean,
    )


class VaeObjective:
    """Minimise reconstruction + w(t) * KL, with w(t) = beta * min(1, t / warmup_steps)."""

    def __init__(self, beta: float, warmup_steps: int) -> None:
        self.beta = beta
        self.warmup_steps = warmup_steps

    def kl_weight(self, update: int) -> float:
        """The KL weight at update ``update`` (0 for the first)."""
        if self.warmup_steps == 0:
            return self.beta
        return self.beta * min(1.0, update / self.warmup_steps)

    def loss(self, terms: ElboTerms, update: int) -> torch.Tensor:
        """One value per member (the mean over the batch, the last dimension)."""
        return (terms.reconstruction + self.kl_weight(update) * terms.kl).mean(-1)


class Elbo(VaeObjective):
    """The negative ELBO (Kingma & Welling 2014), optionally with KL warm-up."""

    def __init__(self, warmup_steps: int) -> None:
        super().__init__(beta=1.0, warmup_steps=warmup_steps)


class BetaVae(VaeObjective):
    """beta-VAE (Higgins et al. 2017): the KL term weighted by ``beta``."""

    def __init__(self, beta: float, warmup_steps: int) -> None:
        super().__init__(beta=beta, warmup_steps=warmup_steps)
