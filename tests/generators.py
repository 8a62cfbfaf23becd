"""Generators with known output distributions, for tests of the evaluation path."""

from __future__ import annotations

import torch
from torch import nn

from genbench.catalog import DATASETS

from .components import built


class MixtureSampler(nn.Module):
    """Maps z ~ N(0, I_3) to an equal-weight mixture over ``modes`` of the ring: the first latent
    picks the mode through the normal CDF, the other two are the Gaussian noise."""

    def __init__(self, modes: list[int] | None = None, std: float = 0.02) -> None:
        super().__init__()
        ring = built(DATASETS, "ring8")
        chosen = modes if modes is not None else list(range(ring.num_modes))
        self.register_buffer("centres", ring.mode_centres[chosen].clone())
        self.std = std

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        count = self.centres.shape[0]
        index = (torch.special.ndtr(z[:, 0]) * count).long().clamp(0, count - 1)
        return self.centres[index] + self.std * z[:, 1:3]


def ring_sampler(modes: list[int] | None = None) -> MixtureSampler:
    """Factory for the state_dict format."""
    return MixtureSampler(modes)


def export_sampler(path, modes: list[int] | None = None) -> None:
    """Save a sampler with torch.export, with a dynamic batch dimension."""
    sampler = MixtureSampler(modes)
    program = torch.export.export(
        sampler, (torch.randn(64, 3),), dynamic_shapes={"z": {0: torch.export.Dim("batch")}}
    )
    torch.export.save(program, str(path))
