"""Precision/recall and density/coverage between generated and real samples, in bounded memory.

Precision and recall are those of Kynkaanniemi et al. 2019 ("Improved precision and recall metric
for assessing generative models"): the share of generated samples inside some real sample's k-NN
ball, and of real samples inside some generated sample's ball. Density and coverage are those of
Naeem et al. 2020 ("Reliable fidelity and diversity metrics for generative models"), from the real
samples' k-NN balls:

    density  = 1/(k M) sum_j sum_i 1[x_gen_j in B(x_real_i, r_k(x_real_i))]
    coverage = 1/N sum_i 1[exists j: x_gen_j in B(x_real_i, r_k(x_real_i))]

For two samples of one distribution density is near 1 and coverage near 1 - 2^-k. A sample's k-th
neighbour is the k-th other sample (its own zero distance comes first), as in the ``prdc`` package
(Naeem et al.'s reference code), which the tests check the four values against. A sample on a
ball's boundary is inside it (``<=``), as in torch-fidelity's precision/recall; the ``prdc``
package counts it outside (``<``), which differs only at exact ties (duplicate samples, data on a
lattice). Samples are compared on their raw, flattened coordinates, or on whatever features they
are.

All four come from three distance matrices (real-real, fake-fake, real-fake), each computed once,
a block of rows at a time: at most ``DISTANCE_BLOCK_BYTES`` of distances (32 MiB,
``genbench.metrics.params``), reduced at once to what the statistics need: the k + 1 smallest
distances of each row for the radii; per real sample the count of generated samples in its ball
and whether it is in some generated ball; per generated sample whether it is in some real ball.
So 50,000 x 50,000 samples (the image protocol) work in blocks of 167 rows, a few hundred MB in
all, where three whole matrices took 30 GB (``benchmarks/prdc_memory.py`` measures it). A matrix
that fits in one block is computed whole, as before this module had blocks, so the usual sample
counts (2,500) give the very same values. Row blocks of a larger matrix gave the whole matrix's
values in every test; they could differ where a distance's last bit does (``torch.cdist``'s matrix
product may sum in another order for another block shape) and a sample lies exactly that close to
a ball's boundary.

An ensemble's members share the reference set, so its k-NN radii are computed once for all of
them; the fake-fake and real-fake distances are each member's own, computed for as many members at
once as their whole matrices fit in a block (one member in row blocks where a member's do not). A
block has as many rows whatever the number of members beside it, so a single sample set (an
ensemble of one) goes through the same arithmetic and agrees exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from genbench.metrics.base import MetricProtocol, MetricResult
from genbench.metrics.keys import KEY_COVERAGE, KEY_DENSITY, KEY_PRECISION, KEY_RECALL
from genbench.metrics.params import DISTANCE_BLOCK_BYTES


def block_rows(columns: int, element_size: int) -> int:
    """Rows of one member's distance matrix of ``columns`` columns that fit in a block (at least one)."""
    return max(1, DISTANCE_BLOCK_BYTES // (columns * element_size))


def nearest_neighbour_radii(samples: torch.Tensor, ks: Sequence[int]) -> list[torch.Tensor]:
    """For each k of ``ks``, per sample of each member of ``samples`` [E, N, D], the distance to
    its k-th nearest other sample: [E, N] each, from one pass over the self-distances."""
    members, count = samples.shape[:2]
    rows = block_rows(count, samples.element_size())
    # the k+1 smallest of a row, sorted: its own zero distance first, then its neighbours. Written
    # into one tensor made beforehand: small results kept between the blocks would pin the heap
    # (glibc's), so that it grows by most of a block at every block (1 GB at 25,000 samples)
    nearest = samples.new_empty(members, count, max(ks) + 1)
    for start in range(0, count, rows):
        block = slice(start, start + rows)
        nearest[:, block] = (
            torch.cdist(samples[:, block], samples).topk(max(ks) + 1, dim=-1, largest=False).values
        )
    return [nearest[..., k] for k in ks]


@dataclass(frozen=True)
class RealBalls:
    """The real samples, flattened, and the radii of their k-NN balls: what every set of generated
    samples compared with them shares."""

    samples: torch.Tensor
    radii_precision_recall: torch.Tensor
    radii_density_coverage: torch.Tensor


def real_balls(real: torch.Tensor, k_precision_recall: int, k_density_coverage: int) -> RealBalls:
    real = real.reshape(real.shape[0], -1)
    radii_precision_recall, radii_density_coverage = nearest_neighbour_radii(
        real[None], (k_precision_recall, k_density_coverage)
    )
    return RealBalls(real, radii_precision_recall[0], radii_density_coverage[0])


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
    at_once = max(1, DISTANCE_BLOCK_BYTES // member_bytes)
    return [
        values
        for chunk in generated.split(at_once)
        for values in chunk_values(chunk, balls, k_precision_recall, k_density_coverage)
    ]


@dataclass
class BallCounts:
    """What the statistics need of the real-fake distances, per member, summed over row blocks."""

    #: per generated sample, whether it is inside some real sample's precision/recall ball
    in_some_real_ball: torch.Tensor
    #: real samples inside some generated sample's ball
    recalled: torch.Tensor
    #: (real sample, generated sample) pairs with the generated one inside the real one's
    #: density/coverage ball
    density_pairs: torch.Tensor
    #: real samples with some generated sample inside their density/coverage ball
    covered: torch.Tensor


def ball_counts(generated: torch.Tensor, fake_radii: torch.Tensor, balls: RealBalls) -> BallCounts:
    """The real-fake distances of the members of ``generated`` [E, N, D], a block of real samples
    at a time, reduced to their ball counts on the device (no host sync per block)."""
    members, count = generated.shape[:2]
    device = generated.device
    counts = BallCounts(
        in_some_real_ball=torch.zeros(members, count, dtype=torch.bool, device=device),
        recalled=torch.zeros(members, dtype=torch.int64, device=device),
        density_pairs=torch.zeros(members, dtype=torch.int64, device=device),
        covered=torch.zeros(members, dtype=torch.int64, device=device),
    )
    rows = block_rows(count, generated.element_size())
    for start in range(0, balls.samples.shape[0], rows):
        block = slice(start, start + rows)
        real_to_fake = torch.cdist(balls.samples[None, block], generated)
        radii_precision_recall = balls.radii_precision_recall[None, block, None]
        radii_density_coverage = balls.radii_density_coverage[None, block, None]
        counts.in_some_real_ball |= (real_to_fake <= radii_precision_recall).any(dim=1)
        counts.recalled += (real_to_fake <= fake_radii[:, None, :]).any(dim=2).sum(dim=1)
        # per real sample in int32 (at most N), a tenth of the time of a bool tensor's int64 sum
        in_ball = (real_to_fake <= radii_density_coverage).sum(dim=2, dtype=torch.int32)
        counts.density_pairs += in_ball.sum(dim=1)
        counts.covered += (in_ball > 0).sum(dim=1)
    return counts


def chunk_values(
    generated: torch.Tensor, balls: RealBalls, k_precision_recall: int, k_density_coverage: int
) -> list[dict[str, float]]:
    """The four values of each member of ``generated`` [E, N, D], from its fake-fake and
    real-fake distances computed in blocks for all members at once."""
    count = generated.shape[1]
    real_count = balls.samples.shape[0]
    (fake_radii,) = nearest_neighbour_radii(generated, (k_precision_recall,))
    counts = ball_counts(generated, fake_radii, balls)
    precision = counts.in_some_real_ball.double().mean(dim=1)
    return [
        {
            KEY_PRECISION: member_precision,
            KEY_RECALL: recalled / real_count,
            KEY_DENSITY: density_pairs / (k_density_coverage * count),
            KEY_COVERAGE: covered / real_count,
        }
        for member_precision, recalled, density_pairs, covered in zip(
            precision.tolist(),
            counts.recalled.tolist(),
            counts.density_pairs.tolist(),
            counts.covered.tolist(),
            strict=True,
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
