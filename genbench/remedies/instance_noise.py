"""Instance noise: Gaussian noise on every sample the discriminator scores, annealed to zero.

Sønderby et al. 2017, "Amortised MAP inference for image super-resolution" (ICLR), and Arjovsky &
Bottou 2017, "Towards principled methods for training generative adversarial networks" (ICLR): the
data and the generator's samples lie on low-dimensional manifolds that hardly overlap, so a perfect
discriminator exists and its gradient tells the generator nothing. Adding the same noise to both
spreads them until they overlap; annealing the noise to zero lets the distributions meet in the
end. Mescheder et al. 2018 showed on DiracGAN that it makes the unregularised game converge.

Noise is added to every real and fake batch in both updates (the generator's update sees noised
fakes too, as the discriminator scored them), with std ``std * max(0, 1 - t / anneal_steps)`` at
generator update t (constant when ``anneal_steps`` is 0), drawn from each member's own stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from genbench.remedies.base import Remedy, Training
from genbench.train.streams import INPUT_NOISE_STREAM, MemberStreams

if TYPE_CHECKING:
    from genbench.train.gan import GanHooks


class InstanceNoise(Remedy):
    """``instance_noise``: Gaussian noise of a linearly annealed std on every discriminator input."""

    def __init__(self, std: float, anneal_steps: int) -> None:
        self.std, self.anneal_steps = std, anneal_steps

    def std_at(self, updates: int) -> float:
        """The noise's std after ``updates`` generator updates."""
        if self.anneal_steps == 0:
            return self.std
        return self.std * max(0.0, 1.0 - updates / self.anneal_steps)

    def install(self, hooks: GanHooks, training: Training) -> None:
        noise = NoisyInputs(self, MemberStreams.seeded(training.device, training.seeds, INPUT_NOISE_STREAM))
        hooks.discriminator_inputs.append(noise)
        hooks.after_generator_update.append(noise.count_update)
        hooks.stateful.append(noise)


class NoisyInputs:
    """The input transform of one training run: it counts generator updates for the schedule."""

    def __init__(self, remedy: InstanceNoise, streams: MemberStreams) -> None:
        self.remedy, self.streams = remedy, streams
        self.updates = 0

    def count_update(self, generator: nn.Module) -> None:
        self.updates += 1

    def member_state(self, member: int) -> dict[str, Any]:
        """The member's noise stream and the schedule's position (``genbench.train.member_state``)."""
        return {"stream": self.streams.member_state(member), "updates": self.updates}

    def load_member_state(self, member: int, state: dict[str, Any]) -> None:
        self.streams.load_member_state(member, state["stream"])
        self.updates = state["updates"]

    def __call__(self, samples: torch.Tensor) -> torch.Tensor:
        """``samples`` [E, batch, ...] plus each member's noise; unchanged once annealed to 0."""
        std = self.remedy.std_at(self.updates)
        if std == 0:
            return samples
        noise = self.streams.normal(samples.shape[1:])
        return samples + std * noise.to(samples.dtype)
