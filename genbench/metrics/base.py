"""The uniform surface of a sample metric: a function of (generated, reference) samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import torch


@dataclass
class MetricResult:
    values: dict[str, float]
    #: indices of the true modes covered, when the metric knows the modes (for mode hopping)
    covered_modes: list[int] | None = None


class Metric(Protocol):
    """Registered metrics are built with their parameters and called at every evaluation.

    ``dataset`` gives what the reference samples cannot: the true mode centres, where known.
    A metric of the model itself rather than of its samples (a VAE's held-out ELBO) sets the class
    attribute ``uses_networks = True`` and is also given ``networks=`` (the trial's built parts).
    A metric for one kind of model only (a VAE's) has ``applies_to(networks) -> bool`` and is
    skipped for the others, so one suite can compare GANs with VAEs.
    ``protocol`` says what the values depend on beyond the samples (version, parameters, feature
    space); the trainer adds the sample counts and the reference set.

    An ensemble's members are evaluated together (``genbench.train``'s vectorized ensembles): a
    metric that can share work between them has
    ``evaluate_members(generated, reference, dataset) -> list[MetricResult]``, with ``generated``
    of shape [E, N, *sample_shape] (one dataset's members) and the reference set shared. Its result
    equals ``[self(generated[k], reference, dataset) for k in range(E)]``, values and covered modes,
    to float tolerance where the order of a reduction differs. Callers go through the module's
    ``evaluate_members``, which calls each member in turn for a metric without the method.
    ``uses_networks`` metrics are not batched: their caller calls them per member, with its networks.
    """

    def __call__(self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any) -> MetricResult: ...

    def protocol(self) -> dict[str, Any]: ...


@dataclass
class MetricProtocol:
    name: str
    version: int
    feature_space: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.name,
            "metric_version": self.version,
            "feature_space": self.feature_space,
            **self.params,
        }


def evaluate_members(
    metric: Metric, generated: torch.Tensor, reference: torch.Tensor, dataset: Any, **kwargs: Any
) -> list[MetricResult]:
    """Each member's result, ``generated`` [E, N, *sample_shape]: through the metric's own
    ``evaluate_members`` where it has one, else one call per member; ``kwargs`` go to either."""
    batched = getattr(metric, "evaluate_members", None)
    if batched is not None:
        return batched(generated, reference, dataset, **kwargs)
    return [metric(member, reference, dataset, **kwargs) for member in generated]
