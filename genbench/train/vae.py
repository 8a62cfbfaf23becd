"""The VAE training loop: one encoder-decoder update per step on the objective's loss.

Same contract as the GAN step (``genbench.train.gan``): E members trained at once through member
modules, each fed from its own seeded data and noise streams, one objective per member summed for
the backward pass, signals [E, signals] summed on the device by the shared loop. The signals are
per example in nats: ``vae_loss`` is the negative ELBO
(reconstruction + KL, whatever KL weight the objective trains with), ``beta`` the KL weight applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from genbench.errors import GenbenchError
from genbench.losses.vae import VaeObjective, elbo_terms
from genbench.metrics.keys import KEY_BETA, KEY_KL, KEY_RECONSTRUCTION, KEY_VAE_GRAD_NORM, KEY_VAE_LOSS
from genbench.models.parts import VaeParts
from genbench.optim import build_optimizer
from genbench.spec import TrialSpec
from genbench.train.build import TrialParts
from genbench.train.member_state import load_optimizer_state, optimizer_state
from genbench.train.step import TrainingStep, compile_networks, forward_precision, per_member
from genbench.train.streams import TrainingStreams

SIGNALS = (KEY_VAE_LOSS, KEY_RECONSTRUCTION, KEY_KL, KEY_BETA, KEY_VAE_GRAD_NORM)


@dataclass
class VaeStep:
    """One update of encoder and decoder on a batch of training data, for E members."""

    networks: VaeParts
    #: each member's dataset (members may train on different datasets of one sample shape)
    datasets: Sequence[object]
    objective: VaeObjective
    optimizer: torch.optim.Optimizer
    batch_size: int
    streams: TrainingStreams
    updates: int = 0
    #: the context of the forward passes: bf16 autocast or none (``train.precision``)
    precision: Callable[[], AbstractContextManager] = nullcontext

    def member_state(self, member: int) -> dict[str, Any]:
        """The member's streams and optimizer state and the update count (the KL schedule's)."""
        members = self.networks.encoder.size
        return {
            "streams": self.streams.member_state(member),
            "optimizer": optimizer_state(self.optimizer, member, members),
            "updates": self.updates,
        }

    def load_member_state(self, member: int, state: dict[str, Any]) -> None:
        self.streams.load_member_state(member, state["streams"])
        load_optimizer_state(self.optimizer, member, self.networks.encoder.size, state["optimizer"])
        self.updates = state["updates"]

    def __call__(self) -> torch.Tensor:
        """Run the update; returns [E, signals] in the order of SIGNALS, batch means."""
        encoder, decoder = self.networks.encoder, self.networks.decoder
        x = self.streams.data.sample_each(self.datasets, self.batch_size)
        members = encoder.size
        with self.precision():
            terms = elbo_terms(self.networks, x, lambda mean: self.streams.latent.normal(mean.shape[1:]))
            beta = self.objective.kl_weight(self.updates)
            objective = per_member(self.objective.loss(terms, self.updates), members, "the VAE objective")
        self.optimizer.zero_grad(set_to_none=True)
        objective.sum().backward()
        grad_norm = torch.linalg.vector_norm(
            torch.stack([encoder.member_grad_norms(), decoder.member_grad_norms()]), dim=0
        )
        self.optimizer.step()
        self.updates += 1
        reconstruction, kl = (
            terms.reconstruction.detach().float().mean(-1),
            terms.kl.detach().float().mean(-1),
        )
        # new_full writes beta on the device; torch.tensor(beta, device=...) would copy from the host
        return torch.stack(
            [reconstruction + kl, reconstruction, kl, kl.new_full((members,), beta), grad_norm], 1
        )


def vae_step(
    spec: TrialSpec,
    seeds: Sequence[int],
    members: Sequence[TrialParts],
    networks: VaeParts,
    device: torch.device,
) -> TrainingStep:
    """The training step of VAE members ``seeds``: one optimizer (with the generator's settings,
    ``g_lr`` overriding ``lr``) updates encoder and decoder of every member."""
    parts = members[0]
    if not isinstance(parts.loss, VaeObjective) or not spec.optimizer:
        raise GenbenchError(
            "training a VAE needs a VAE model (vae_mlp, vae_conv), a VAE objective (elbo, beta_vae) "
            "and an optimizer"
        )
    parameters = [*networks.encoder.member_parameters(), *networks.decoder.member_parameters()]
    step = VaeStep(
        networks=networks,
        datasets=[member.dataset for member in members],
        objective=parts.loss,
        optimizer=build_optimizer(spec.optimizer.name, spec.optimizer.params, "generator", parameters),
        batch_size=spec.train.batch_size,
        streams=TrainingStreams.seeded(device, seeds),
        precision=forward_precision(spec.train, device),
    )
    compiled = compile_networks(
        spec.train, device, {"encoder": networks.encoder, "decoder": networks.decoder}
    )
    return TrainingStep(step, SIGNALS, samples_per_step=spec.train.batch_size, compiled=compiled, state=step)
