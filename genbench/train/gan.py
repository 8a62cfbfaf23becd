"""The GAN training loop: alternating discriminator and generator updates.

A step returns its signals (losses and gradient norms) as one device tensor, so the shared loop
(genbench.train.loop) can accumulate them and check divergence without host synchronisation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from genbench.errors import GenbenchError
from genbench.losses.gan import GanLoss
from genbench.metrics.keys import (
    KEY_DISCRIMINATOR_GRAD_NORM,
    KEY_DISCRIMINATOR_LOSS,
    KEY_GENERATOR_GRAD_NORM,
    KEY_GENERATOR_LOSS,
)
from genbench.models.parts import GanParts
from genbench.optim import build_optimizer
from genbench.suite import TrialSpec
from genbench.train.build import TrialParts
from genbench.train.loop import Divergence, train_steps
from genbench.train.streams import DATA_STREAM, LATENT_STREAM, seeded

SIGNALS = (KEY_GENERATOR_LOSS, KEY_DISCRIMINATOR_LOSS, KEY_GENERATOR_GRAD_NORM, KEY_DISCRIMINATOR_GRAD_NORM)


@dataclass
class GanStep:
    """One generator update and the ``d_steps`` discriminator updates before it."""

    networks: GanParts
    dataset: object
    loss: GanLoss
    penalty: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None
    generator_optimizer: torch.optim.Optimizer
    discriminator_optimizer: torch.optim.Optimizer
    batch_size: int
    d_steps: int
    data_rng: torch.Generator
    latent_rng: torch.Generator

    def discriminator_update(self) -> tuple[torch.Tensor, torch.Tensor]:
        generator, discriminator = self.networks.generator, self.networks.discriminator
        real = self.dataset.sample(self.batch_size, self.data_rng)
        with torch.no_grad():
            fake = generator(self.networks.latents(self.batch_size, self.latent_rng))
        objective = self.loss.discriminator_loss(discriminator(real), discriminator(fake))
        loss_value = objective.detach()
        gradient_penalty = self.loss.discriminator_penalty(discriminator, real, fake)
        if gradient_penalty is not None:
            objective = objective + gradient_penalty
        if self.penalty is not None:
            objective = objective + self.penalty(discriminator, real, fake)
        self.discriminator_optimizer.zero_grad(set_to_none=True)
        objective.backward()
        grad_norm = nn.utils.clip_grad_norm_(discriminator.parameters(), float("inf"))
        self.discriminator_optimizer.step()
        self.loss.after_discriminator_step(discriminator)
        return loss_value, grad_norm

    def generator_update(self) -> tuple[torch.Tensor, torch.Tensor]:
        generator, discriminator = self.networks.generator, self.networks.discriminator
        discriminator.requires_grad_(False)
        try:
            fake = generator(self.networks.latents(self.batch_size, self.latent_rng))
            objective = self.loss.generator_loss(discriminator(fake))
            self.generator_optimizer.zero_grad(set_to_none=True)
            objective.backward()
            grad_norm = nn.utils.clip_grad_norm_(generator.parameters(), float("inf"))
            self.generator_optimizer.step()
        finally:
            discriminator.requires_grad_(True)
        return objective.detach(), grad_norm

    def __call__(self) -> torch.Tensor:
        """Run the updates; returns (g_loss, d_loss, g_grad_norm, d_grad_norm), D's averaged."""
        d_results = [self.discriminator_update() for _ in range(self.d_steps)]
        d_loss = torch.stack([loss for loss, _ in d_results]).mean()
        d_grad = torch.stack([norm for _, norm in d_results]).mean()
        g_loss, g_grad = self.generator_update()
        return torch.stack([g_loss, d_loss, g_grad, d_grad])


def gan_training_events(
    spec: TrialSpec,
    parts: TrialParts,
    device: torch.device,
    schedule: set[int],
    on_progress: Callable[[int], None],
) -> Iterator[tuple[int, dict[str, float]] | Divergence]:
    """Train a GAN trial: (step, window signals) at each scheduled step, or a Divergence."""
    if parts.loss is None or spec.optimizer is None or parts.networks.discriminator is None:
        raise GenbenchError("training a GAN needs a loss, an optimizer and a model with a discriminator")
    networks = parts.networks
    step_fn = GanStep(
        networks=networks,
        dataset=parts.dataset,
        loss=parts.loss,
        penalty=parts.penalty,
        generator_optimizer=build_optimizer(
            spec.optimizer.name, spec.optimizer.params, "generator", networks.generator.parameters()
        ),
        discriminator_optimizer=build_optimizer(
            spec.optimizer.name, spec.optimizer.params, "discriminator", networks.discriminator.parameters()
        ),
        batch_size=spec.train.batch_size,
        d_steps=spec.train.d_steps,
        data_rng=seeded(device, spec.seed + DATA_STREAM),
        latent_rng=seeded(device, spec.seed + LATENT_STREAM),
    )
    for event in train_steps(step_fn, SIGNALS, spec.train.steps, schedule, device, on_progress):
        yield event if isinstance(event, Divergence) else (event.step, event.values)
