"""What a training loop (GAN, VAE) hands the shared step loop: the step and its signals' names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from genbench.errors import GenbenchError


@dataclass
class TrainingStep:
    #: one update of every member; returns the signals [E, len(signals)]
    step: Callable[[], torch.Tensor]
    signals: tuple[str, ...]
    #: real training samples one step consumes per member, for samples/s
    samples_per_step: int


def per_member(value: torch.Tensor, members: int, what: str) -> torch.Tensor:
    """``value`` as one entry per member, [E]. A trial alone may return a scalar; for an ensemble
    a scalar would be an average over the members, whose gradient is not each member's own, so it
    is refused instead of training every member at 1/E of its learning rate."""
    if value.shape == (members,):
        return value
    if value.dim() == 0 and members == 1:
        return value.reshape(1)
    raise GenbenchError(
        f"{what} has shape {tuple(value.shape)}; trials trained together need one value per member, "
        f"shape ({members},): reduce over the last (batch) dimension only, e.g. .mean(-1)"
    )
