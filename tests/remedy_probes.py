"""A user remedy (``tests.remedy_probes:RawGeneratorWeights``) that records the generator's trained
weights, as a suite names user code: tests compare what the built-in remedies compute with them."""

from __future__ import annotations

from typing import ClassVar

import torch

from genbench.remedies.base import Remedy, Training


class RawGeneratorWeights(Remedy):
    """Records the generator's weights when installed and after every generator update."""

    #: the weights recorded by the last trial that installed it, initial weights first
    recorded: ClassVar[list[list[torch.Tensor]]] = []

    def install(self, hooks, training: Training) -> None:
        parameters = training.networks.generator.member_parameters()
        recorded = RawGeneratorWeights.recorded
        recorded.clear()

        def record(_generator) -> None:
            recorded.append([parameter.detach().clone() for parameter in parameters])

        record(None)
        hooks.after_generator_update.append(record)
