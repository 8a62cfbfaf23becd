"""The GAN training step: alternating discriminator and generator updates, with room for remedies.

A step returns its signals (losses and gradient norms) as one device tensor, so the shared loop
(genbench.train.loop) can accumulate them and check divergence without host synchronisation.

Remedies plug into the step through ``GanHooks`` instead of ``if`` branches in it, so that adding
one touches the remedy and the place that builds the hooks, never the step. The points, in the
order the step meets them:

- ``discriminator_inputs``: every batch the discriminator scores, real or fake, in both updates,
  passes through these transforms (instance noise, differentiable augmentation). Each sees one
  batch at a time, so the generator update, which shows the discriminator only fakes, applies
  the same transforms as the discriminator update.
- ``discriminator_terms``: extra terms of the discriminator's objective, computed from the network
  and the batches it has just scored (R1, the gradient penalty): a suite's ``penalty:`` and the
  terms a loss comes with (WGAN-GP) take this one route.
- ``after_discriminator_update`` / ``after_generator_update``: called with the network just
  updated (WGAN's weight clipping; an EMA copy of the generator).

The generator's objective is the loss's ``generator_loss(fake_logits, real_logits)``: a
relativistic loss is a new ``GanLoss``, not a new point. Spectral norm is part of the model
(``dcgan``'s ``discriminator_norm``), not of the step. What is evaluated is ``parts.networks``,
which ``genbench.train.trial`` owns; an EMA generator needs that to become the step's choice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import nn

from genbench.errors import GenbenchError
from genbench.losses.gan import GanLoss
from genbench.losses.penalties import DiscriminatorPenalty
from genbench.metrics.keys import (
    KEY_DISCRIMINATOR_GRAD_NORM,
    KEY_DISCRIMINATOR_LOSS,
    KEY_GENERATOR_GRAD_NORM,
    KEY_GENERATOR_LOSS,
)
from genbench.models.parts import GanParts
from genbench.optim import build_optimizer
from genbench.spec import TrialSpec
from genbench.train.build import TrialParts
from genbench.train.loop import Divergence, train_steps
from genbench.train.streams import DATA_STREAM, LATENT_STREAM, seeded

SIGNALS = (KEY_GENERATOR_LOSS, KEY_DISCRIMINATOR_LOSS, KEY_GENERATOR_GRAD_NORM, KEY_DISCRIMINATOR_GRAD_NORM)

#: a transform of one batch the discriminator is about to score
InputTransform = Callable[[torch.Tensor], torch.Tensor]
#: called with the network that has just been updated
AfterUpdate = Callable[[nn.Module], None]


@dataclass
class GanHooks:
    """The step's extension points (see the module docstring); each list runs in order."""

    discriminator_inputs: list[InputTransform] = field(default_factory=list)
    discriminator_terms: list[DiscriminatorPenalty] = field(default_factory=list)
    after_discriminator_update: list[AfterUpdate] = field(default_factory=list)
    after_generator_update: list[AfterUpdate] = field(default_factory=list)


def gan_hooks(loss: GanLoss, penalty: DiscriminatorPenalty | None) -> GanHooks:
    """A trial's hooks: the regularizers its loss comes with, then the suite's penalty."""
    return GanHooks(
        discriminator_terms=[*loss.discriminator_terms, *([penalty] if penalty is not None else [])],
        after_discriminator_update=list(loss.after_discriminator_update),
    )


class DiscriminatorUpdate(NamedTuple):
    #: the loss without the extra terms, as the ``discriminator_loss`` signal reports it
    loss: torch.Tensor
    grad_norm: torch.Tensor
    #: the real batch it trained on, before the input transforms
    real: torch.Tensor


@dataclass
class GanStep:
    """One generator update and the ``d_steps`` discriminator updates before it."""

    networks: GanParts
    dataset: object
    loss: GanLoss
    generator_optimizer: torch.optim.Optimizer
    discriminator_optimizer: torch.optim.Optimizer
    batch_size: int
    d_steps: int
    data_rng: torch.Generator
    latent_rng: torch.Generator
    hooks: GanHooks = field(default_factory=GanHooks)

    def discriminator_input(self, samples: torch.Tensor) -> torch.Tensor:
        for transform in self.hooks.discriminator_inputs:
            samples = transform(samples)
        return samples

    def discriminator_update(self) -> DiscriminatorUpdate:
        generator, discriminator = self.networks.generator, self.networks.discriminator
        real = self.dataset.sample(self.batch_size, self.data_rng)
        with torch.no_grad():
            fake = generator(self.networks.latents(self.batch_size, self.latent_rng))
        real_input, fake_input = self.discriminator_input(real), self.discriminator_input(fake)
        objective = self.loss.discriminator_loss(discriminator(real_input), discriminator(fake_input))
        loss_value = objective.detach()
        for term in self.hooks.discriminator_terms:
            objective = objective + term(discriminator, real_input, fake_input)
        self.discriminator_optimizer.zero_grad(set_to_none=True)
        objective.backward()
        grad_norm = nn.utils.clip_grad_norm_(discriminator.parameters(), float("inf"))
        self.discriminator_optimizer.step()
        for hook in self.hooks.after_discriminator_update:
            hook(discriminator)
        return DiscriminatorUpdate(loss_value, grad_norm, real)

    def generator_update(self, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One update against the current discriminator. ``real`` is the batch the discriminator
        last trained on: a loss that reads real logits gets them without a new draw, which would
        shift the data stream."""
        generator, discriminator = self.networks.generator, self.networks.discriminator
        discriminator.requires_grad_(False)
        try:
            fake = generator(self.networks.latents(self.batch_size, self.latent_rng))
            fake_logits = discriminator(self.discriminator_input(fake))
            needs_real = self.loss.generator_needs_real_logits
            real_logits = discriminator(self.discriminator_input(real)) if needs_real else None
            objective = self.loss.generator_loss(fake_logits, real_logits)
            self.generator_optimizer.zero_grad(set_to_none=True)
            objective.backward()
            grad_norm = nn.utils.clip_grad_norm_(generator.parameters(), float("inf"))
            self.generator_optimizer.step()
        finally:
            discriminator.requires_grad_(True)
        for hook in self.hooks.after_generator_update:
            hook(generator)
        return objective.detach(), grad_norm

    def __call__(self) -> torch.Tensor:
        """Run the updates; returns (g_loss, d_loss, g_grad_norm, d_grad_norm), D's averaged."""
        d_updates = [self.discriminator_update() for _ in range(self.d_steps)]
        d_loss = torch.stack([update.loss for update in d_updates]).mean()
        d_grad = torch.stack([update.grad_norm for update in d_updates]).mean()
        g_loss, g_grad = self.generator_update(d_updates[-1].real)
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
        hooks=gan_hooks(parts.loss, parts.penalty),
    )
    for event in train_steps(step_fn, SIGNALS, spec.train.steps, schedule, device, on_progress):
        yield event if isinstance(event, Divergence) else (event.step, event.values)
