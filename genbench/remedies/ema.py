"""EMA: evaluate an exponential moving average of the generator's weights.

Yazici et al. 2019, "The unusual effectiveness of averaging in GAN training" (ICLR): the iterates
of GAN training cycle around an equilibrium instead of converging to it, and an exponential moving
average of the generator's weights, avg <- decay * avg + (1 - decay) * weights after every
generator update, lands closer to it; the averaged generator scored better than the trained one in
their experiments, at no cost to training (the average never feeds back into it).

Training is unchanged: the average is kept beside the generator's parameters (stacked over the
members like them, so each member averages its own weights) and swapped in, in place, while the
networks are evaluated, sampled and checkpointed. Buffers (batch-norm statistics) are not averaged:
the evaluated generator uses the trained generator's. ``torch.optim.swa_utils.AveragedModel``
computes the same average on a copy of the module; a copy would be a second network for evaluation
to choose, where the swap keeps one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from genbench.remedies.base import Remedy, Training
from genbench.train.member_state import load_tensors_state, tensors_state

if TYPE_CHECKING:
    from genbench.train.gan import GanHooks


class GeneratorAverage(Remedy):
    """``ema``: the generator that is evaluated is the exponential moving average of its weights."""

    def __init__(self, decay: float, start_step: int) -> None:
        self.decay, self.start_step = decay, start_step

    def install(self, hooks: GanHooks, training: Training) -> None:
        generator = training.networks.generator
        average = WeightAverage(generator.member_parameters(), self.decay, self.start_step, generator.size)
        hooks.after_generator_update.append(average.update)
        hooks.stateful.append(average)
        hooks.set_evaluated_weights(average.swapped_in, "ema")


class WeightAverage:
    """The moving average of ``parameters`` (each with its leading member dimension, elementwise, so
    members never mix), updated after each generator update."""

    def __init__(
        self, parameters: Sequence[nn.Parameter], decay: float, start_step: int, members: int = 1
    ) -> None:
        self.parameters = list(parameters)
        self.decay, self.start_step = decay, start_step
        self.members = members
        self.average = [parameter.detach().clone() for parameter in self.parameters]
        #: generator updates seen
        self.updates = 0

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        """After a generator update: follow the weights until ``start_step`` updates, average after."""
        self.updates += 1
        weights = [parameter.detach() for parameter in self.parameters]
        if self.updates <= self.start_step:
            torch._foreach_copy_(self.average, weights)
        else:
            torch._foreach_lerp_(self.average, weights, 1 - self.decay)

    def member_state(self, member: int) -> dict[str, Any]:
        """The member's average and the updates seen (``genbench.train.member_state``)."""
        return {"average": tensors_state(self.average, member, self.members), "updates": self.updates}

    def load_member_state(self, member: int, state: dict[str, Any]) -> None:
        load_tensors_state(self.average, member, self.members, state["average"])
        self.updates = state["updates"]

    @contextmanager
    def swapped_in(self) -> Iterator[None]:
        """The average in the generator's parameters, in place (compiled passes keep their tensors);
        the trained weights are put back on exit."""
        trained = [parameter.detach().clone() for parameter in self.parameters]
        with torch.no_grad():
            torch._foreach_copy_([parameter.detach() for parameter in self.parameters], self.average)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_([parameter.detach() for parameter in self.parameters], trained)
