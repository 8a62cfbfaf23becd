"""What a remedy is: a change of GAN training that composes with any loss, penalty and optimizer.

A remedy acts at one or more of these points, each a method with a default that changes nothing:

- ``prepare_member``: change one member's freshly built networks, on the CPU and under the member's
  seed, before the ensemble's members are stacked (spectral norm's parametrization). So a member
  alone and in an ensemble start the same, and stacking sees the changed network.
- ``install``: add to the training step's extension points (``genbench.train.gan.GanHooks``):
  transforms of every discriminator input (instance noise, DiffAugment), hooks after the updates
  (the EMA's averaging), the discriminator the generator's update is computed against (unrolling)
  and the weights that are evaluated, sampled and checkpointed (the EMA's). What it keeps across
  steps (an average, a schedule's position, its streams) it adds to ``hooks.stateful``, with a
  member's state and its inverse (``genbench.train.member_state.MemberStateful``), so that a saved
  training state (``train.checkpoint_every``) resumes it exactly; state held in the networks
  (spectral norm's vectors) is saved with them.

The step never asks which remedy it runs: ``genbench.train.gan.gan_step`` builds the trial's
remedies and lets each install itself. Randomness comes from the members' own seeded streams, one
offset per remedy (``genbench.train.streams``), never from the global generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from genbench.catalog import REMEDIES
from genbench.errors import GenbenchError
from genbench.models.parts import GanParts
from genbench.spec import ComponentSpec
from genbench.train.build import build_component

if TYPE_CHECKING:
    from genbench.train.gan import GanHooks


@dataclass(frozen=True)
class Training:
    """What a remedy installed into a step may use: the members' stacked networks (member modules,
    ``genbench.models.stacking``), their seeds (one stream per member) and the device."""

    networks: GanParts
    seeds: Sequence[int]
    device: torch.device


class Remedy:
    """Base of every remedy; a user's ``package.module:factory`` returns one too."""

    def prepare_member(self, networks: GanParts, seed: int) -> None:
        """Change one member's networks (built on the CPU under ``seed``) before stacking."""

    def install(self, hooks: GanHooks, training: Training) -> None:
        """Add to the step's hooks."""


def build_remedies(specs: Sequence[ComponentSpec]) -> list[Remedy]:
    """The trial's remedies, in the order the suite names them."""
    remedies = [build_component(spec, REMEDIES) for spec in specs]
    for spec, remedy in zip(specs, remedies, strict=True):
        if not isinstance(remedy, Remedy):
            raise GenbenchError(
                f"remedy '{spec.name}' must return a genbench.remedies.base.Remedy, "
                f"got {type(remedy).__name__}"
            )
    return remedies
