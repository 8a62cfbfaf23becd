"""The VAE training loop: one encoder-decoder update per step on the objective's loss.

Same contract as the GAN loop (``genbench.train.gan.gan_training_events``): seeded data and noise
streams, signals summed on the device and averaged over each evaluation window, divergence recorded
at its exact step. The signals are per example in nats: ``vae_loss`` is the negative ELBO
(reconstruction + KL, whatever KL weight the objective trains with), ``beta`` the KL weight applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from genbench.errors import GenbenchError
from genbench.losses.vae import VaeObjective, elbo_terms
from genbench.metrics.keys import KEY_BETA, KEY_KL, KEY_RECONSTRUCTION, KEY_VAE_GRAD_NORM, KEY_VAE_LOSS
from genbench.models.parts import VaeParts
from genbench.optim import build_optimizer
from genbench.spec import TrialSpec
from genbench.train.build import TrialParts
from genbench.train.loop import Divergence, train_steps
from genbench.train.streams import DATA_STREAM, LATENT_STREAM, seeded

SIGNALS = (KEY_VAE_LOSS, KEY_RECONSTRUCTION, KEY_KL, KEY_BETA, KEY_VAE_GRAD_NORM)


def trained_parameters(networks: VaeParts) -> list[nn.Parameter]:
    """Encoder and decoder parameters: one optimizer trains both."""
    return [*networks.encoder.parameters(), *networks.decoder.parameters()]


@dataclass
class VaeStep:
    """One update of encoder and decoder on a batch of training data."""

    networks: VaeParts
    dataset: object
    objective: VaeObjective
    optimizer: torch.optim.Optimizer
    batch_size: int
    data_rng: torch.Generator
    noise_rng: torch.Generator
    updates: int = 0

    def __call__(self) -> torch.Tensor:
        """Run the update; returns the signals in the order of SIGNALS, batch means."""
        x = self.dataset.sample(self.batch_size, self.data_rng)
        terms = elbo_terms(self.networks, x, self.noise_rng)
        beta = self.objective.kl_weight(self.updates)
        objective = self.objective.loss(terms, self.updates)
        self.optimizer.zero_grad(set_to_none=True)
        objective.backward()
        grad_norm = nn.utils.clip_grad_norm_(trained_parameters(self.networks), float("inf"))
        self.optimizer.step()
        self.updates += 1
        reconstruction, kl = terms.reconstruction.detach().mean(), terms.kl.detach().mean()
        # new_full writes beta on the device; torch.tensor(beta, device=...) would copy from the host
        return torch.stack([reconstruction + kl, reconstruction, kl, kl.new_full((), beta), grad_norm])


def vae_training_events(
    spec: TrialSpec,
    parts: TrialParts,
    device: torch.device,
    schedule: set[int],
    on_progress: Callable[[int], None],
) -> Iterator[tuple[int, dict[str, float]] | Divergence]:
    """Train a VAE trial: (step, window signals) at each scheduled step, or a Divergence.

    The encoder and decoder must already be on ``device``; one optimizer (with the generator's
    settings, ``g_lr`` overriding ``lr``) updates both.
    """
    networks = parts.networks
    if not isinstance(networks, VaeParts) or not isinstance(parts.loss, VaeObjective) or not spec.optimizer:
        raise GenbenchError(
            "training a VAE needs a VAE model (vae_mlp, vae_conv), a VAE objective (elbo, beta_vae) "
            "and an optimizer"
        )
    parameters = trained_parameters(networks)
    step_fn = VaeStep(
        networks=networks,
        dataset=parts.dataset,
        objective=parts.loss,
        optimizer=build_optimizer(spec.optimizer.name, spec.optimizer.params, "generator", parameters),
        batch_size=spec.train.batch_size,
        data_rng=seeded(device, spec.seed + DATA_STREAM),
        noise_rng=seeded(device, spec.seed + LATENT_STREAM),
    )
    for event in train_steps(step_fn, SIGNALS, spec.train.steps, schedule, device, on_progress):
        yield event if isinstance(event, Divergence) else (event.step, event.values)
