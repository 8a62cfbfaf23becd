"""Precision/recall and density/coverage between generated and real samples.

Precision and recall are those of Kynkaanniemi et al. 2019 ("Improved precision and recall metric
for assessing generative models"): the share of generated samples inside some real sample's k-NN
ball, and of real samples inside some generated sample's ball. Density and coverage are those of
Naeem et al. 2020 ("Reliable fidelity and diversity metrics for generative models"), from the real
samples' k-NN balls:

    density  = 1/(k M) sum_j sum_i 1[x_gen_j in B(x_real_i, r_k(x_real_i))]
    coverage = 1/N sum_i 1[exists j: x_gen_j in B(x_real_i, r_k(x_real_i))]

For two samples of one distribution density is near 1 and coverage near 1 - 2^-k.

All four come from three distance matrices computed once (real-real, fake-fake, real-fake);
torch-fidelity's precision/recall recomputes them and reads k-th neighbours with a full
``kthvalue``, which made this metric the slowest part of an evaluation of the 2-D suites. The
tests check the four values against the ``prdc`` package (Naeem et al.'s reference code).
Samples are compared on their raw, flattened coordinates, or on whatever features they are.

An ensemble's members share the reference set, so its k-NN radii (the real-real matrix) are
computed once for all of them; the fake-fake and real-fake matrices are each member's own, computed
for as many members at once as fit in ``MEMBER_DISTANCES_BYTES``. A single sample set is an
ensemble of one, so both go through the same arithmetic and agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from genbench.metrics.base import MetricProtocol, MetricResult
from genbench.metrics.keys import KEY_COVERAGE, KEY_DENSITY, KEY_PRECISION, KEY_RECALL


def nearest_neighbour_radii(distances: torch.Tensor, k: int) -> torch.Tensor:
    """Per row of a square self-distance matrix (or of a batch of them), the distance to the k-th
    nearest other point."""
    return distances.topk(k + 1, dim=-1, largest=False).values[..., k]


#: memory for the fake-fake and real-fake distances of the members evaluated at once (one member
#: at a time when a single member needs more). Small on purpose: batching pays where the matrices
#: are small and a call's overhead dominates; measured on a CPU, 8 members of 2,500 samples took
#: 0.57 s one at a time and 0.94 s all at once (256 MiB), 64 members of 256 the same either way
MEMBER_DISTANCES_BYTES = 32 * 2**20


@dataclass(frozen=True)
class RealBalls:
    """The real samples, flattened, and the radii of their k-NN balls: what every set of generated
    samples compared with them shares."""

    samples: torch.Tensor
    radii_precision_recall: torch.Tensor
    radii_density_coverage: torch.Tensor


def real_balls(real: torch.Tensor, k_precision_recall: int, k_density_coverage: int) -> RealBalls:
    real = real.reshape(real.shape[0], -1)
    real_to_real = torch.cdist(real, real)
    return RealBalls(
        samples=real,
        radii_precision_recall=nearest_neighbour_radii(real_to_real, k_precision_recall),
        radii_density_coverage=nearest_neighbour_radii(real_to_real, k_density_coverage),
    )


def precision_recall_density_coverage(
    generated: torch.Tensor, real: torch.Tensor, k_precision_recall: int, k_density_coverage: int
) -> dict[str, float]:
    return member_precision_recall_density_coverage(
        generated[None], real, k_precision_recall, k_density_coverage
    )[0]


def member_precision_recall_density_coverage(
    generated: torch.Tensor, real: torch.Tensor, k_precision_recall: int, k_density_coverage: int
) -> list[dict[str, float]]:
    """The four values for each member of ``generated`` [E, N, ...] against the shared ``real``."""
    members, count = generated.shape[:2]
    generated = generated.reshape(members, count, -1)
    balls = real_balls(real.to(generated), k_precision_recall, k_density_coverage)
    member_bytes = generated.element_size() * count * (count + balls.samples.shape[0])
    at_once = max(1, MEMBER_DISTANCES_BYTES // member_bytes)
    return [
        values
        for chunk in generated.split(at_once)
        for values in chunk_values(chunk, balls, k_precision_recall, k_density_coverage)
    ]


def chunk_values(
    generated: torch.Tensor, balls: RealBalls, k_precision_recall: int, k_density_coverage: int
) -> list[dict[str, float]]:
    """The four values of each member of ``generated`` [E, N, D], from one batched fake-fake and
    one batched real-fake distance computation."""
    count = generated.shape[1]
    fake_radii_pr = nearest_neighbour_radii(torch.cdist(generated, generated), k_precision_recall)
    real_to_fake = torch.cdist(balls.samples[None], generated)
    precision = (real_to_fake <= balls.radii_precision_recall[None, :, None]).any(dim=1).double().mean(dim=1)
    recall = (real_to_fake <= fake_radii_pr[:, None, :]).any(dim=2).double().mean(dim=1)
    # per real sample in int32 (at most N), a tenth of the time of a bool tensor's int64 sum
    in_ball_counts = (real_to_fake <= balls.radii_density_coverage[None, :, None]).sum(
        dim=2, dtype=torch.int32
    )
    density = in_ball_counts.sum(dim=1)
    coverage = (in_ball_counts > 0).double().mean(dim=1)
    return [
        {
            KEY_PRECISION: member_precision,
            KEY_RECALL: member_recall,
            KEY_DENSITY: member_density / (k_density_coverage * count),
            KEY_COVERAGE: member_coverage,
        }
        for member_precision, member_recall, member_density, member_coverage in zip(
            precision.tolist(), recall.tolist(), density.tolist(), coverage.tolist(), strict=True
        )
    ]


class PrdcMetric:
    version = 1

    def __init__(self, k_precision_recall: int, k_density_coverage: int) -> None:
        self.k_precision_recall = k_precision_recall
        self.k_density_coverage = k_density_coverage

    def __call__(self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any) -> MetricResult:
        values = precision_recall_density_coverage(
            generated, reference, self.k_precision_recall, self.k_density_coverage
        )
        return MetricResult(values=values)

    def evaluate_members(
        self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any
    ) -> list[MetricResult]:
        members = member_precision_recall_density_coverage(
            generated, reference, self.k_precision_recall, self.k_density_coverage
        )
        return [MetricResult(values=values) for values in members]

    def protocol(self) -> dict[str, Any]:
        params = {
            "k_precision_recall": self.k_precision_recall,
            "k_density_coverage": self.k_density_coverage,
        }
        return MetricProtocol("prdc", self.version, "raw", params).as_dict()
