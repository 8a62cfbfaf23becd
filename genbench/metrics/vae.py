"""Metrics of a VAE itself on held-out data: ELBO, importance-weighted log-likelihood, the ELBO's
two terms, and active units as the measure of posterior collapse.

They read the model, not its samples: each sets ``uses_networks = True`` and is called as
``metric(generated, reference, dataset, networks=parts)`` with the trial's ``VaeParts``; the
reference is held-out data (``dataset.reference``). Values are per example in nats (see
``genbench.models.vae`` for what a nat means under each likelihood). Noise comes from a generator
seeded by ``seed``, so an evaluation is repeatable.

- ``vae``: held-out ELBO = -(reconstruction + KL) with one z per example and the closed-form KL;
  active units (Burda et al. 2016, "Importance weighted autoencoders"): latent u is active when
  A_u = Cov_x(E_{q(z|x)}[z_u]) > ``active_threshold`` (0.01 in the paper). A collapsed posterior
  q(z|x) = p(z) makes every posterior mean the same, so A_u = 0 for all u.
- ``iwae``: the bound log 1/k sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x) (Burda et al. 2016), which
  is at least the ELBO in expectation, equals it for k = 1 and tends to log p(x) as k grows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from genbench.errors import GenbenchError
from genbench.losses.vae import ElboTerms, elbo_terms, noise_from
from genbench.metrics.base import MetricProtocol, MetricResult
from genbench.metrics.keys import (
    KEY_ACTIVE_UNITS,
    KEY_HELDOUT_ELBO,
    KEY_HELDOUT_KL,
    KEY_HELDOUT_RECONSTRUCTION,
    KEY_IWAE_LOG_LIKELIHOOD,
)
from genbench.models.parts import VaeParts
from genbench.models.vae import HALF_LOG_TWO_PI, reparameterise

#: examples (times importance samples, for iwae) per forward pass
EVAL_BATCH = 1024


@contextmanager
def evaluation_mode(*modules: nn.Module) -> Iterator[None]:
    """Modules in eval mode and without gradients for the block, then as they were."""
    modes = [module.training for module in modules]
    for module in modules:
        module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for module, mode in zip(modules, modes, strict=True):
            module.train(mode)


def is_vae(networks: Any) -> bool:
    """VAE metrics apply to VAE trials only; in a suite that mixes GANs and VAEs the evaluation
    skips them for the GANs (their records simply lack these keys)."""
    return isinstance(networks, VaeParts)


def require_vae(networks: Any, metric: str) -> VaeParts:
    if not isinstance(networks, VaeParts):
        raise GenbenchError(
            f"metric '{metric}' measures a VAE (vae_mlp, vae_conv), not a {type(networks).__name__}"
        )
    return networks


def active_units(posterior_means: torch.Tensor, threshold: float) -> int:
    """Latents whose posterior mean varies across examples by more than ``threshold`` (Burda et al.)."""
    return int((posterior_means.double().var(dim=0) > threshold).sum())


def log_importance_weights(
    networks: VaeParts, x: torch.Tensor, k: int, generator: torch.Generator
) -> torch.Tensor:
    """log p(x, z_i) - log q(z_i|x) for k draws z_i ~ q(z|x) per example, shape (k, N)."""
    mean, log_var = networks.encoder(x)
    noise = torch.randn((k, *mean.shape), generator=generator, device=mean.device, dtype=mean.dtype)
    z = reparameterise(mean, log_var, noise)
    log_posterior = (-0.5 * noise**2 - 0.5 * log_var - HALF_LOG_TWO_PI).sum(dim=2)
    log_prior = (-0.5 * z**2 - HALF_LOG_TWO_PI).sum(dim=2)
    repeated = x.expand(k, *x.shape).reshape(k * x.shape[0], *x.shape[1:])
    log_likelihood = networks.decoder.log_likelihood(repeated, z.reshape(-1, mean.shape[1]))
    return log_likelihood.reshape(k, x.shape[0]) + log_prior - log_posterior


def iwae_bound(networks: VaeParts, x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """The k-sample importance-weighted bound on log p(x) per example, shape (N,)."""
    return torch.logsumexp(log_importance_weights(networks, x, k, generator), dim=0) - math.log(k)


class VaeMetric:
    """Held-out ELBO, reconstruction, KL and active units of the trial's VAE."""

    version = 1
    uses_networks = True
    applies_to = staticmethod(is_vae)

    def __init__(self, active_threshold: float, seed: int) -> None:
        self.active_threshold = active_threshold
        self.seed = seed

    def __call__(
        self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any, *, networks: Any
    ) -> MetricResult:
        vae = require_vae(networks, "vae")
        generator = torch.Generator(device=reference.device).manual_seed(self.seed)
        with evaluation_mode(vae.encoder, vae.decoder):
            terms = [elbo_terms(vae, x, noise_from(generator)) for x in reference.split(EVAL_BATCH)]
        held_out = ElboTerms(
            reconstruction=torch.cat([term.reconstruction for term in terms]).double(),
            kl=torch.cat([term.kl for term in terms]).double(),
            posterior_mean=torch.cat([term.posterior_mean for term in terms]),
        )
        values = {
            KEY_HELDOUT_ELBO: -held_out.negative_elbo.mean().item(),
            KEY_HELDOUT_RECONSTRUCTION: held_out.reconstruction.mean().item(),
            KEY_HELDOUT_KL: held_out.kl.mean().item(),
            KEY_ACTIVE_UNITS: float(active_units(held_out.posterior_mean, self.active_threshold)),
        }
        return MetricResult(values=values)

    def protocol(self) -> dict[str, Any]:
        params = {"active_threshold": self.active_threshold, "seed": self.seed}
        return MetricProtocol("vae", self.version, "raw", params).as_dict()


class ImportanceWeightedLikelihood:
    """Held-out log-likelihood estimated by the k-sample IWAE bound (Burda et al. 2016)."""

    version = 1
    uses_networks = True
    applies_to = staticmethod(is_vae)

    def __init__(self, k: int, seed: int) -> None:
        self.k = k
        self.seed = seed

    def __call__(
        self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any, *, networks: Any
    ) -> MetricResult:
        vae = require_vae(networks, "iwae")
        generator = torch.Generator(device=reference.device).manual_seed(self.seed)
        with evaluation_mode(vae.encoder, vae.decoder):
            bounds = [
                iwae_bound(vae, x, self.k, generator) for x in reference.split(max(1, EVAL_BATCH // self.k))
            ]
        return MetricResult(values={KEY_IWAE_LOG_LIKELIHOOD: torch.cat(bounds).double().mean().item()})

    def protocol(self) -> dict[str, Any]:
        return MetricProtocol("iwae", self.version, "raw", {"k": self.k, "seed": self.seed}).as_dict()
