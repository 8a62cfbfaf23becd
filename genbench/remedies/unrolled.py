"""Unrolled GAN: the generator's update is computed against the discriminator k updates ahead.

Metz et al. 2017, "Unrolled Generative Adversarial Networks" (ICLR): a generator that moves all its
mass onto the mode the current discriminator likes is punished one discriminator update later; if
its update already sees how the discriminator will answer, collapsing stops paying. Before each
generator update the discriminator takes ``steps`` look-ahead updates (full updates of the step:
fresh batches, the loss's and the suite's penalties, WGAN's clipping, the input transforms of other
remedies); the generator's gradient is computed against the discriminator they leave, and then the
discriminator's weights, buffers and optimizer state are restored to what they were before, so only
the step's own discriminator updates train it.

What the paper did and what this is: the paper differentiates through the look-ahead. Its
unrolled discriminator is a function of the generator's weights (through the discriminator's Adam
updates), and the generator's gradient has a second term, through those updates, which captures
how the discriminator would react to a change of the generator. This remedy is the first-order
surrogate: the generator's gradient against the look-ahead discriminator held fixed, without that
term. It costs k discriminator updates per step, none differentiated, and works with every loss,
penalty, optimizer and network (batch norm, spectral norm, compiled passes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from genbench.remedies.base import Remedy, Training

if TYPE_CHECKING:
    from genbench.train.gan import GanHooks, GanStep


class UnrolledDiscriminator(Remedy):
    """``unrolled``: the generator's update sees the discriminator after ``steps`` look-ahead updates."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def install(self, hooks: GanHooks, training: Training) -> None:
        hooks.set_generator_opponent(self.look_ahead, "unrolled")

    @contextmanager
    def look_ahead(self, step: GanStep) -> Iterator[nn.Module]:
        """The discriminator after ``steps`` more updates; restored, with its optimizer, on exit."""
        saved = DiscriminatorState(step.networks.discriminator, step.discriminator_optimizer)
        try:
            for _ in range(self.steps):
                step.discriminator_update()
            yield step.networks.discriminator
        finally:
            saved.restore()


class DiscriminatorState:
    """A copy of a network's weights and buffers and of its optimizer's state, to restore later."""

    def __init__(self, network: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.network, self.optimizer = network, optimizer
        self.tensors = [tensor.detach().clone() for tensor in network.state_dict(keep_vars=True).values()]
        self.optimizer_state = {
            parameter: {key: cloned(value) for key, value in state.items()}
            for parameter, state in optimizer.state.items()
        }

    @torch.no_grad()
    def restore(self) -> None:
        """Put the saved tensors back in place (compiled passes keep their tensors); an optimizer
        state that did not exist before (the first update's) is dropped again."""
        current = [tensor.detach() for tensor in self.network.state_dict(keep_vars=True).values()]
        torch._foreach_copy_(current, self.tensors)
        self.optimizer.state.clear()
        self.optimizer.state.update(self.optimizer_state)


def cloned(value: Any) -> Any:
    """A copy of an optimizer state entry (a tensor, or a number such as a step count)."""
    return value.detach().clone() if isinstance(value, torch.Tensor) else value
