"""The GAN training loop: alternating discriminator and generator updates.

The step keeps everything on the device: losses and gradient norms are summed into device tensors
and read only at evaluations, and the finiteness of the losses is checked every
``DIVERGENCE_CHECK_EVERY`` steps, with the first non-finite step kept on the device, so no host
synchronisation slows the step on a GPU while divergence is still recorded at the exact step.
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
from genbench.train.streams import DATA_STREAM, LATENT_STREAM, seeded

DIVERGENCE_CHECK_EVERY = 10
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


@dataclass
class WindowSignals:
    """Training signals averaged since the last evaluation."""

    step: int
    values: dict[str, float]


@dataclass
class Divergence:
    step: int


def train_steps(
    step_fn: GanStep,
    steps: int,
    evaluate_at: set[int],
    device: torch.device,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[WindowSignals | Divergence]:
    """Run ``steps`` updates; yield window averages at each step in ``evaluate_at``, or a
    Divergence (and stop) at the first step whose losses or gradient norms are not finite.
    ``on_progress(step)`` is called at every divergence check, for progress bars."""
    sums = torch.zeros(len(SIGNALS), device=device, dtype=torch.float64)
    window = 0
    first_bad_step = torch.tensor(-1, device=device)
    for step in range(1, steps + 1):
        signals = step_fn()
        finite = torch.isfinite(signals).all()
        first_bad_step = torch.where((first_bad_step < 0) & ~finite, step, first_bad_step)
        sums += signals.double()
        window += 1
        if step % DIVERGENCE_CHECK_EVERY == 0 or step in evaluate_at:
            bad = int(first_bad_step)
            if bad >= 0:
                yield Divergence(step=bad)
                return
            if on_progress is not None:
                on_progress(step)
        if step in evaluate_at:
            means = (sums / window).tolist()
            yield WindowSignals(step=step, values=dict(zip(SIGNALS, means, strict=True)))
            sums.zero_()
            window = 0


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
    for event in train_steps(step_fn, spec.train.steps, schedule, device, on_progress):
        yield event if isinstance(event, Divergence) else (event.step, event.values)
