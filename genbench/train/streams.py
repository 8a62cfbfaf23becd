"""Seeded random streams of a trial, kept apart so that adding draws to one never shifts another.

Each stream's seed is the trial seed plus a fixed offset; the reference set's seed is fixed, so
every trial of a suite is evaluated against the same real samples. Trials trained together as an
ensemble keep their own streams (``MemberStreams``): member k draws exactly what trial k draws
alone, so ensembling does not change what a trial sees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch

DATA_STREAM, LATENT_STREAM, EVAL_STREAM = 1_000_003, 2_000_003, 3_000_017
#: randomness of the regularizers (the gradient penalty's interpolation weights)
PENALTY_STREAM = 4_000_037
#: the remedies' randomness, one stream each so that combining remedies shifts none of them
#: (``genbench.remedies``): instance noise, DiffAugment's transformations, and the initial vectors
#: of spectral norm's power iteration (drawn on the CPU when a member's networks are built)
INPUT_NOISE_STREAM, AUGMENT_STREAM, SPECTRAL_NORM_STREAM = 5_000_011, 6_000_011, 7_000_003
REFERENCE_SEED = 20_170_000


def seeded(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


class MemberStreams:
    """One seeded generator per ensemble member; every draw stacks the members' draws on a
    leading member dimension."""

    def __init__(self, generators: Sequence[torch.Generator]) -> None:
        self.generators = list(generators)

    @classmethod
    def seeded(cls, device: torch.device, seeds: Sequence[int], offset: int) -> MemberStreams:
        return cls([seeded(device, seed + offset) for seed in seeds])

    def draw(self, sample: Callable[[torch.Generator], torch.Tensor]) -> torch.Tensor:
        """``sample(generator)`` for each member, stacked: [E, ...]."""
        if len(self.generators) == 1:
            return sample(self.generators[0]).unsqueeze(0)
        return torch.stack([sample(generator) for generator in self.generators])

    def sample_each(self, datasets: Sequence[Any], n: int) -> torch.Tensor:
        """``n`` samples of each member's own dataset from its own stream, stacked: [E, n, ...]
        (an ensemble's members may train on different datasets of one sample shape)."""
        if len(self.generators) == 1:
            return datasets[0].sample(n, self.generators[0]).unsqueeze(0)
        return torch.stack([data.sample(n, rng) for data, rng in zip(datasets, self.generators, strict=True)])

    def member_state(self, member: int) -> dict[str, Any]:
        """Member ``member``'s position in its stream (``genbench.train.member_state``)."""
        return {"rng": self.generators[member].get_state()}

    def load_member_state(self, member: int, state: dict[str, Any]) -> None:
        self.generators[member].set_state(state["rng"])

    def normal(self, shape: Sequence[int]) -> torch.Tensor:
        return self.draw(lambda g: torch.randn(tuple(shape), generator=g, device=g.device))

    def uniform(self, shape: Sequence[int]) -> torch.Tensor:
        return self.draw(lambda g: torch.rand(tuple(shape), generator=g, device=g.device))


@dataclass
class TrainingStreams:
    """The members' training streams: data batches, latents (or a VAE's noise), penalties."""

    data: MemberStreams
    latent: MemberStreams
    penalty: MemberStreams

    @classmethod
    def seeded(cls, device: torch.device, seeds: Sequence[int]) -> TrainingStreams:
        return cls(
            data=MemberStreams.seeded(device, seeds, DATA_STREAM),
            latent=MemberStreams.seeded(device, seeds, LATENT_STREAM),
            penalty=MemberStreams.seeded(device, seeds, PENALTY_STREAM),
        )

    def member_state(self, member: int) -> dict[str, Any]:
        return {stream.name: getattr(self, stream.name).member_state(member) for stream in fields(self)}

    def load_member_state(self, member: int, state: dict[str, Any]) -> None:
        for stream in fields(self):
            getattr(self, stream.name).load_member_state(member, state[stream.name])
