"""The GAN training step: alternating discriminator and generator updates, with room for remedies.

The step trains an ensemble of E members at once (E = 1 for a trial alone): its networks are member
modules (genbench.models.stacking), every batch is [E, batch, ...] drawn from the members' own
seeded streams, every objective is one value per member and their sum is differentiated, which
gives each member its own gradient. It returns its signals (losses and gradient norms) as one
device tensor [E, signals], so the shared loop (genbench.train.loop) can accumulate them and check
divergence per member without host synchronisation.

Remedies (``genbench.remedies``) plug into the step through ``GanHooks`` instead of ``if`` branches
in it: ``gan_step`` builds the hooks of the trial's loss and penalty and lets each of its remedies
install itself, so adding one touches the remedy, never the step. The points, in the order the step
meets them:

- ``discriminator_inputs``: every batch the discriminator scores, real or fake, in both updates,
  passes through these transforms (instance noise, differentiable augmentation). Each sees one
  batch at a time, so the generator update, which shows the discriminator only fakes, applies
  the same transforms as the discriminator update.
- ``discriminator_terms``: extra terms of the discriminator's objective, computed from the network,
  the batches it has just scored and the members' penalty streams (R1, the gradient penalty): a
  suite's ``penalty:`` and the terms a loss comes with (WGAN-GP) take this one route.
- ``after_discriminator_update`` / ``after_generator_update``: called with the network just
  updated (WGAN's weight clipping; the EMA's averaging of the generator's weights).
- ``generator_opponent``: the discriminator the generator's update is computed against, as a
  context that may change it and must undo that on exit (unrolling: k look-ahead updates, then the
  discriminator and its optimizer restored). By default the current discriminator, unchanged.
- ``evaluated_weights``: the context in which the networks hold the weights that are evaluated,
  sampled and checkpointed (the EMA's average swapped in); by default the trained weights.
- ``stateful``: what the remedies keep across steps (an EMA's average, the noise schedule's
  position, their streams), each offering ``genbench.train.member_state.MemberStateful``, so a
  trial's training state (``train.checkpoint_every``) holds it without the step knowing it.

The generator's objective is the loss's ``generator_loss(fake_logits, real_logits)``: a
relativistic loss is a new ``GanLoss``, not a new point. A remedy that changes a network itself
(spectral norm on every layer of the discriminator) does so before the members are stacked
(``Remedy.prepare_member``), not in the step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
from genbench.remedies.base import Training, build_remedies
from genbench.spec import TrialSpec
from genbench.train.build import TrialParts
from genbench.train.member_state import MemberStateful, load_optimizer_state, optimizer_state
from genbench.train.step import TrainingStep, compile_networks, forward_precision, per_member
from genbench.train.streams import TrainingStreams

SIGNALS = (KEY_GENERATOR_LOSS, KEY_DISCRIMINATOR_LOSS, KEY_GENERATOR_GRAD_NORM, KEY_DISCRIMINATOR_GRAD_NORM)

#: a transform of one batch the discriminator is about to score
InputTransform = Callable[[torch.Tensor], torch.Tensor]
#: called with the network that has just been updated
AfterUpdate = Callable[[nn.Module], None]
#: given the step, a context that yields the discriminator the generator's update is computed
#: against and undoes on exit whatever it did to get it
OpponentView = Callable[["GanStep"], AbstractContextManager[nn.Module]]
#: a context in which the networks hold the weights to evaluate, sample and checkpoint
WeightsContext = Callable[[], AbstractContextManager[None]]


def current_discriminator(step: GanStep) -> AbstractContextManager[nn.Module]:
    """The generator's update sees the discriminator as it is: the default opponent."""
    return nullcontext(step.networks.discriminator)


@dataclass
class GanHooks:
    """The step's extension points (see the module docstring); each list runs in order."""

    discriminator_inputs: list[InputTransform] = field(default_factory=list)
    discriminator_terms: list[DiscriminatorPenalty] = field(default_factory=list)
    after_discriminator_update: list[AfterUpdate] = field(default_factory=list)
    after_generator_update: list[AfterUpdate] = field(default_factory=list)
    generator_opponent: OpponentView = current_discriminator
    evaluated_weights: WeightsContext = nullcontext
    stateful: list[MemberStateful] = field(default_factory=list)

    def set_generator_opponent(self, view: OpponentView, remedy: str) -> None:
        """Let ``remedy`` choose the generator's opponent; two cannot both choose it."""
        if self.generator_opponent is not current_discriminator:
            raise GenbenchError(
                f"remedy '{remedy}' and another both change the discriminator the generator's update "
                "sees; keep one"
            )
        self.generator_opponent = view

    def set_evaluated_weights(self, context: WeightsContext, remedy: str) -> None:
        """Let ``remedy`` choose the weights that are evaluated; two cannot both choose them."""
        if self.evaluated_weights is not nullcontext:
            raise GenbenchError(
                f"remedy '{remedy}' and another both choose the weights that are evaluated; keep one"
            )
        self.evaluated_weights = context


def gan_hooks(loss: GanLoss, penalty: DiscriminatorPenalty | None) -> GanHooks:
    """A trial's hooks: the regularizers its loss comes with, then the suite's penalty."""
    return GanHooks(
        discriminator_terms=[*loss.discriminator_terms, *([penalty] if penalty is not None else [])],
        after_discriminator_update=list(loss.after_discriminator_update),
    )


class DiscriminatorUpdate(NamedTuple):
    #: the loss without the extra terms, as the ``discriminator_loss`` signal reports it, [E]
    loss: torch.Tensor
    grad_norm: torch.Tensor
    #: the real batch it trained on, before the input transforms
    real: torch.Tensor


@dataclass
class GanStep:
    """One generator update and the ``d_steps`` discriminator updates before it, for E members."""

    networks: GanParts
    #: each member's dataset (members may train on different datasets of one sample shape)
    datasets: Sequence[object]
    loss: GanLoss
    generator_optimizer: torch.optim.Optimizer
    discriminator_optimizer: torch.optim.Optimizer
    batch_size: int
    d_steps: int
    streams: TrainingStreams
    hooks: GanHooks = field(default_factory=GanHooks)
    #: the context of the forward passes: bf16 autocast or none (``train.precision``)
    precision: Callable[[], AbstractContextManager] = nullcontext

    @property
    def members(self) -> int:
        return self.networks.generator.size

    def member_state(self, member: int) -> dict[str, Any]:
        """The member's streams, both optimizers' states and its remedies' states."""
        return {
            "streams": self.streams.member_state(member),
            "generator_optimizer": optimizer_state(self.generator_optimizer, member, self.members),
            "discriminator_optimizer": optimizer_state(self.discriminator_optimizer, member, self.members),
            "remedies": [holder.member_state(member) for holder in self.hooks.stateful],
        }

    def load_member_state(self, member: int, state: dict[str, Any]) -> None:
        self.streams.load_member_state(member, state["streams"])
        load_optimizer_state(self.generator_optimizer, member, self.members, state["generator_optimizer"])
        load_optimizer_state(
            self.discriminator_optimizer, member, self.members, state["discriminator_optimizer"]
        )
        if len(state["remedies"]) != len(self.hooks.stateful):
            raise ValueError(
                f"a saved state of {len(state['remedies'])} remedies for {len(self.hooks.stateful)}"
            )
        for holder, saved in zip(self.hooks.stateful, state["remedies"], strict=True):
            holder.load_member_state(member, saved)

    def real_batch(self) -> torch.Tensor:
        return self.streams.data.sample_each(self.datasets, self.batch_size)

    def latent_batch(self) -> torch.Tensor:
        return self.streams.latent.draw(lambda rng: self.networks.latents(self.batch_size, rng))

    def discriminator_input(self, samples: torch.Tensor) -> torch.Tensor:
        for transform in self.hooks.discriminator_inputs:
            samples = transform(samples)
        return samples

    def discriminator_update(self) -> DiscriminatorUpdate:
        generator, discriminator = self.networks.generator, self.networks.discriminator
        real = self.real_batch()
        with self.precision():
            with torch.no_grad():
                fake = generator(self.latent_batch())
            real_input, fake_input = self.discriminator_input(real), self.discriminator_input(fake)
            objective = per_member(
                self.loss.discriminator_loss(discriminator(real_input), discriminator(fake_input)),
                self.members,
                "the discriminator loss",
            )
            loss_value = objective.detach()
            for term in self.hooks.discriminator_terms:
                value = term(discriminator, real_input, fake_input, self.streams.penalty)
                objective = objective + per_member(value, self.members, "a discriminator penalty")
        self.discriminator_optimizer.zero_grad(set_to_none=True)
        objective.sum().backward()
        grad_norm = discriminator.member_grad_norms()
        self.discriminator_optimizer.step()
        for hook in self.hooks.after_discriminator_update:
            hook(discriminator)
        return DiscriminatorUpdate(loss_value, grad_norm, real)

    def generator_update(self, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One update against the discriminator ``hooks.generator_opponent`` gives (the current
        one by default). ``real`` is the batch the discriminator last trained on: a loss that reads
        real logits gets them without a new draw, which would shift the data stream. Only the
        generator's gradients are computed (autograd.grad), so the discriminator's parameters need
        no switching off and get no stray gradients; they are computed before the opponent's
        context undoes what it did to the discriminator."""
        generator = self.networks.generator
        parameters = generator.member_parameters()
        with self.hooks.generator_opponent(self) as discriminator:
            with self.precision():
                fake = generator(self.latent_batch())
                fake_logits = discriminator(self.discriminator_input(fake))
                needs_real = self.loss.generator_needs_real_logits
                real_logits = discriminator(self.discriminator_input(real)) if needs_real else None
                objective = per_member(
                    self.loss.generator_loss(fake_logits, real_logits), self.members, "the generator loss"
                )
            # allow_unused: a user's generator may hold a parameter this pass does not reach (its
            # gradient stays None, which the optimizer skips, as after backward())
            gradients = torch.autograd.grad(objective.sum(), parameters, allow_unused=True)
        for parameter, gradient in zip(parameters, gradients, strict=True):
            parameter.grad = gradient
        grad_norm = generator.member_grad_norms()
        self.generator_optimizer.step()
        for hook in self.hooks.after_generator_update:
            hook(generator)
        return objective.detach(), grad_norm

    def __call__(self) -> torch.Tensor:
        """Run the updates; returns [E, (g_loss, d_loss, g_grad_norm, d_grad_norm)], D's averaged."""
        last = self.discriminator_update()
        d_loss, d_grad = last.loss, last.grad_norm
        for _ in range(self.d_steps - 1):
            last = self.discriminator_update()
            d_loss, d_grad = d_loss + last.loss, d_grad + last.grad_norm
        if self.d_steps > 1:
            d_loss, d_grad = d_loss / self.d_steps, d_grad / self.d_steps
        g_loss, g_grad = self.generator_update(last.real)
        # losses computed under bf16 autocast are bf16; the signals are float32
        return torch.stack([as_float(g_loss), as_float(d_loss), g_grad, d_grad], dim=1)


def as_float(signal: torch.Tensor) -> torch.Tensor:
    """``signal`` in float32, without an operation when it already is (every step, every member)."""
    return signal if signal.dtype == torch.float32 else signal.float()


def gan_step(
    spec: TrialSpec,
    seeds: Sequence[int],
    members: Sequence[TrialParts],
    networks: GanParts,
    device: torch.device,
) -> TrainingStep:
    """The training step of GAN members ``seeds`` (trials that differ only in their seed and
    dataset): ``networks`` are their stacked networks on ``device``, ``members`` their parts (the
    loss and penalty are member 0's: the members' are equal). The spec's remedies install
    themselves into the hooks, in the suite's order."""
    parts = members[0]
    if parts.loss is None or spec.optimizer is None or networks.discriminator is None:
        raise GenbenchError("training a GAN needs a loss, an optimizer and a model with a discriminator")
    if not isinstance(parts.loss, GanLoss):
        raise GenbenchError(f"a GAN needs a GAN loss, got {type(parts.loss).__name__}")
    hooks = gan_hooks(parts.loss, parts.penalty)
    training = Training(networks=networks, seeds=seeds, device=device)
    for remedy in build_remedies(spec.remedies):
        remedy.install(hooks, training)
    # a compiled graph has no double backward, which a gradient penalty takes through D
    compiled = {"generator": networks.generator}
    if not hooks.discriminator_terms:
        compiled["discriminator"] = networks.discriminator
    step = GanStep(
        networks=networks,
        datasets=[member.dataset for member in members],
        loss=parts.loss,
        generator_optimizer=build_optimizer(
            spec.optimizer.name, spec.optimizer.params, "generator", networks.generator.member_parameters()
        ),
        discriminator_optimizer=build_optimizer(
            spec.optimizer.name,
            spec.optimizer.params,
            "discriminator",
            networks.discriminator.member_parameters(),
        ),
        batch_size=spec.train.batch_size,
        d_steps=spec.train.d_steps,
        streams=TrainingStreams.seeded(device, seeds),
        hooks=hooks,
        precision=forward_precision(spec.train, device),
    )
    return TrainingStep(
        step,
        SIGNALS,
        # real samples one step consumes: the discriminator reads a batch per d_step
        samples_per_step=spec.train.d_steps * spec.train.batch_size,
        compiled=compile_networks(spec.train, device, compiled),
        evaluated_weights=hooks.evaluated_weights,
        state=step,
    )
