"""Minibatch standard deviation (Karras et al. 2018, "Progressive growing of GANs", section 3).

A discriminator that judges one sample at a time cannot see that a generator's samples are all
alike. This layer lets it: it splits the batch into groups, takes each feature's standard deviation
over a group, averages it over features (and positions of a feature map), and appends that one
number to every sample of the group as an extra feature (a constant extra channel for a map). A
collapsed generator's groups have a small spread, real data's do not, so the discriminator can
punish the collapse. Placed before the discriminator's last layer, as in the paper.

Like ProGAN's code, a group is samples i, i + M, i + 2M, ... of a batch of G * M (the batch
reshaped to [G, M, ...]), and a batch smaller than the group size is one group.

Batch-agnostic: every dimension before the batch's is a batch dimension too, so statistics never
mix the members of an ensemble ([E, batch, ...], genbench.models.stacking), and under
``torch.func.vmap`` (one member's [batch, ...]) it is the same code.
"""

from __future__ import annotations

import torch
from torch import nn

from genbench.errors import GenbenchError

#: added to the variance before its square root, so the gradient stays finite at zero spread
#: (ProGAN's value)
EPSILON = 1e-8


class MinibatchStd(nn.Module):
    """Appends the group's mean feature standard deviation to each sample's features.

    ``feature_dims`` is the number of trailing dimensions of one sample: 1 for vectors [..., N, F]
    (one feature more), 3 for feature maps [..., N, C, H, W] (one channel more).
    """

    def __init__(self, group_size: int, feature_dims: int) -> None:
        super().__init__()
        self.group_size = group_size
        self.feature_dims = feature_dims

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        batch_dim = features.dim() - self.feature_dims - 1
        batch = features.shape[batch_dim]
        group = min(self.group_size, batch)
        if batch % group:
            raise GenbenchError(
                f"minibatch standard deviation with groups of {self.group_size} needs a discriminator "
                f"batch divisible by it, got {batch} (samples, or packs under PacGAN): set "
                "minibatch_group to a divisor of the batch size"
            )
        leading, sample_shape = features.shape[:batch_dim], features.shape[batch_dim + 1 :]
        grouped = features.reshape(*leading, group, batch // group, *sample_shape)
        spread = (grouped.var(dim=batch_dim, correction=0) + EPSILON).sqrt()
        # group m's number, [..., M], averaged over every feature (and position); sample g * M + m
        # is in group m, so tiling the groups' numbers gives each sample its own
        statistic = spread.flatten(batch_dim + 1).mean(-1)
        per_sample = statistic.repeat(*([1] * len(leading)), group)
        extra = per_sample.reshape(*leading, batch, *([1] * self.feature_dims))
        return torch.cat([features, extra.expand(*leading, batch, 1, *sample_shape[1:])], dim=batch_dim + 1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, feature_dims={self.feature_dims}"
