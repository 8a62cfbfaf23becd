"""DiffAugment: the discriminator sees every real and fake image through random, differentiable
transformations.

Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training" (NeurIPS): a
discriminator trained on few images memorises them and its feedback to the generator degrades;
augmenting only the real images would teach the generator the augmentations. Transforming real and
fake images alike, in both updates, with transformations the generator's gradient passes through,
regularises the discriminator without leaking them into the samples. The transformations
(``color``, ``translation``, ``cutout``) are ``genbench.remedies.diffaugment_ops``; this remedy
applies them as an input transform of the step, with each member's own stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from genbench.remedies.base import Remedy, Training
from genbench.remedies.diffaugment_ops import augment
from genbench.train.streams import AUGMENT_STREAM, MemberStreams

if TYPE_CHECKING:
    from genbench.train.gan import GanHooks


class DiffAugment(Remedy):
    """``diffaugment``: every image the discriminator scores goes through the policy's transformations."""

    def __init__(self, policy: Sequence[str]) -> None:
        self.policy = tuple(policy)

    def install(self, hooks: GanHooks, training: Training) -> None:
        streams = MemberStreams.seeded(training.device, training.seeds, AUGMENT_STREAM)

        def augmented(images: torch.Tensor) -> torch.Tensor:
            return augment(images, self.policy, streams)

        hooks.discriminator_inputs.append(augmented)
        hooks.stateful.append(streams)
