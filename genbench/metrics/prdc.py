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
"""

from __future__ import annotations

from typing import Any

import torch

from genbench.metrics.base import MetricProtocol, MetricResult
from genbench.metrics.keys import KEY_COVERAGE, KEY_DENSITY, KEY_PRECISION, KEY_RECALL


def nearest_neighbour_radii(distances: torch.Tensor, k: int) -> torch.Tensor:
    """Per row of a square self-distance matrix, the distance to the k-th nearest other point."""
    return distances.topk(k + 1, dim=1, largest=False).values[:, k]


def precision_recall_density_coverage(
    generated: torch.Tensor, real: torch.Tensor, k_precision_recall: int, k_density_coverage: int
) -> dict[str, float]:
    generated = generated.reshape(generated.shape[0], -1)
    real = real.reshape(real.shape[0], -1).to(generated)
    real_to_real = torch.cdist(real, real)
    fake_to_fake = torch.cdist(generated, generated)
    real_to_fake = torch.cdist(real, generated)
    real_radii_pr = nearest_neighbour_radii(real_to_real, k_precision_recall)
    fake_radii_pr = nearest_neighbour_radii(fake_to_fake, k_precision_recall)
    real_radii_dc = nearest_neighbour_radii(real_to_real, k_density_coverage)
    inside_real_balls = real_to_fake <= real_radii_dc[:, None]
    return {
        KEY_PRECISION: (real_to_fake <= real_radii_pr[:, None]).any(dim=0).double().mean().item(),
        KEY_RECALL: (real_to_fake <= fake_radii_pr[None, :]).any(dim=1).double().mean().item(),
        KEY_DENSITY: inside_real_balls.sum().item() / (k_density_coverage * generated.shape[0]),
        KEY_COVERAGE: inside_real_balls.any(dim=1).double().mean().item(),
    }


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

    def protocol(self) -> dict[str, Any]:
        params = {
            "k_precision_recall": self.k_precision_recall,
            "k_density_coverage": self.k_density_coverage,
        }
        return MetricProtocol("prdc", self.version, "raw", params).as_dict()
