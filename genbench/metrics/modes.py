"""Mode metrics on data whose true modes are known (2-D mixtures).

Protocol of Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN): a generated sample is
*high quality* when it lies within ``quality_radius`` standard deviations of its nearest mode
centre; a mode is *covered* when it is the nearest centre of at least ``min_count`` high-quality
samples; ``mode_kl`` is the KL divergence (natural log) between the histogram of high-quality
samples over the modes and the uniform distribution, log K - H(histogram).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from genbench.errors import GenbenchError
from genbench.metrics.base import MetricProtocol, MetricResult
from genbench.metrics.keys import KEY_HQ_FRACTION, KEY_MODE_KL, KEY_MODES_COVERED


@dataclass
class ModeStatistics:
    hq_fraction: float
    covered_modes: list[int]
    mode_kl: float


def mode_statistics(
    samples: torch.Tensor, centres: torch.Tensor, std: float, quality_radius: float, min_count: int
) -> ModeStatistics:
    """Assign each sample to its nearest centre and summarise coverage and balance; ``mode_kl``
    is that of the high-quality samples' histogram (log K when there is none)."""
    return member_mode_statistics(samples[None], centres, std, quality_radius, min_count)[0]


def member_mode_statistics(
    samples: torch.Tensor, centres: torch.Tensor, std: float, quality_radius: float, min_count: int
) -> list[ModeStatistics]:
    """``mode_statistics`` of each member of ``samples`` [E, N, ...] from one distance computation.

    One call serves a single sample set too (E = 1), so an ensemble's members and separate trials
    go through the same arithmetic and their counts agree exactly. The histograms of all members
    come from one ``bincount``: member k's nearest centre i is counted at k K + i.
    """
    members, count = samples.shape[:2]
    samples = samples.reshape(members, count, -1).double()
    centres = centres.to(samples.device).double()
    num_modes = centres.shape[0]
    distances, nearest = torch.cdist(samples, centres[None]).min(dim=2)
    high_quality = distances <= quality_radius * std
    offsets = torch.arange(members, device=samples.device)[:, None] * num_modes
    counts = torch.bincount((nearest + offsets)[high_quality], minlength=members * num_modes)
    counts = counts.reshape(members, num_modes).cpu()
    hq_fractions = high_quality.double().mean(dim=1).tolist()
    return [
        ModeStatistics(
            hq_fraction=hq_fraction,
            covered_modes=torch.nonzero(member_counts >= min_count).flatten().tolist(),
            mode_kl=mode_kl(member_counts),
        )
        for hq_fraction, member_counts in zip(hq_fractions, counts, strict=True)
    ]


def mode_kl(counts: torch.Tensor) -> float:
    """KL (nats) from the histogram ``counts`` over K modes to the uniform one: log K - H.

    With no count at all it is log K, the value of a point mass: the histogram is undefined, and a
    generator with nothing on any mode is at least as bad as one that collapsed onto one mode.
    """
    num_modes, total = counts.shape[0], float(counts.sum())
    if total == 0:
        return math.log(num_modes)
    shares = counts[counts > 0].double() / total
    return max(math.log(num_modes) + float((shares * shares.log()).sum()), 0.0)


class ModeMetric:
    """``hq_fraction``, ``modes_covered`` and ``mode_kl`` against the dataset's true modes."""

    version = 1

    def __init__(self, min_count: int, quality_radius: float) -> None:
        self.min_count = min_count
        self.quality_radius = quality_radius

    def __call__(self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any) -> MetricResult:
        return self.evaluate_members(generated[None], reference, dataset)[0]

    def evaluate_members(
        self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any
    ) -> list[MetricResult]:
        centres = getattr(dataset, "mode_centres", None)
        if centres is None:
            raise GenbenchError("metric 'modes' needs a dataset with known mode centres (ring8, grid25)")
        members = member_mode_statistics(
            generated, centres, dataset.mode_std, self.quality_radius, self.min_count
        )
        return [
            MetricResult(
                values={
                    KEY_HQ_FRACTION: statistics.hq_fraction,
                    KEY_MODES_COVERED: float(len(statistics.covered_modes)),
                    KEY_MODE_KL: statistics.mode_kl,
                },
                covered_modes=statistics.covered_modes,
            )
            for statistics in members
        ]

    def protocol(self) -> dict[str, Any]:
        params = {"min_count": self.min_count, "quality_radius": self.quality_radius}
        return MetricProtocol("modes", self.version, "raw", params).as_dict()
