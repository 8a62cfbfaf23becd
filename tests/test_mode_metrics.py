"""Mode metrics (VEEGAN/PacGAN protocol) on samples whose answer is known in closed form."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from genbench.catalog import DATASETS, METRICS
from genbench.metrics.modes import mode_statistics

from .components import built

#: the VEEGAN protocol: high quality within 3 standard deviations, a mode covered by one sample
VEEGAN = {"quality_radius": 3.0, "min_count": 1}


def ring8(**params):
    return built(DATASETS, "ring8", **params)


def test_ring_has_eight_distinct_centres_at_angles_2_pi_i_over_8():
    centres = ring8().mode_centres
    angles = torch.atan2(centres[:, 1], centres[:, 0]) % (2 * math.pi)
    expected = torch.tensor([2 * math.pi * i / 8 for i in range(8)])
    assert torch.allclose(angles, expected, atol=1e-6)
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), 2.0))
    assert torch.cdist(centres, centres).add(torch.eye(8) * 10).min() > 1.5


def test_grid_has_25_centres_spaced_2_apart_around_the_origin():
    centres = built(DATASETS, "grid25").mode_centres
    assert centres.shape == (25, 2)
    assert torch.allclose(centres.mean(dim=0), torch.zeros(2), atol=1e-6)
    assert set(centres[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}


def test_true_mixture_scores_chi2_hq_fraction_all_modes_and_finite_sample_kl():
    """hq_fraction = P(chi2_2 < 9); KL of the empirical histogram ~ (K-1)/(2N) on average."""
    ring = ring8()
    kls, hq = [], []
    for seed in range(20):
        samples = ring.sample(2500, torch.Generator().manual_seed(seed))
        result = mode_statistics(samples, ring.mode_centres, ring.mode_std, **VEEGAN)
        assert len(result.covered_modes) == 8
        kls.append(result.mode_kl)
        hq.append(result.hq_fraction)
    expected_hq = stats.chi2.cdf(9, df=2)
    assert expected_hq == pytest.approx(0.98889, abs=1e-5)
    assert sum(hq) / len(hq) == pytest.approx(expected_hq, abs=0.002)
    expected_kl = (8 - 1) / (2 * 2500 * expected_hq)
    assert sum(kls) / len(kls) == pytest.approx(expected_kl, rel=0.3)


def test_generator_uniform_on_three_of_eight_modes():
    ring = ring8()
    samples = ring.mode_centres[[0, 2, 5]].repeat(100, 1)
    result = mode_statistics(samples, ring.mode_centres, ring.mode_std, **VEEGAN)
    assert result.covered_modes == [0, 2, 5]
    assert result.hq_fraction == 1.0
    assert result.mode_kl == pytest.approx(math.log(8 / 3))


def test_unbalanced_histogram_kl_is_log_k_minus_entropy():
    ring = ring8()
    samples = torch.cat([ring.mode_centres[[0]].repeat(30, 1), ring.mode_centres[[1]].repeat(10, 1)])
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    result = mode_statistics(samples, ring.mode_centres, ring.mode_std, **VEEGAN)
    assert result.mode_kl == pytest.approx(math.log(8) - entropy)


def test_samples_far_from_every_mode_are_low_quality():
    ring = ring8()
    samples = torch.zeros(50, 2)  # the centre of the ring, 2 away from every mode
    result = mode_statistics(samples, ring.mode_centres, ring.mode_std, **VEEGAN)
    assert result.hq_fraction == 0.0
    assert result.covered_modes == []
    assert result.mode_kl == pytest.approx(math.log(8))


def test_quality_radius_is_in_standard_deviations():
    ring = ring8(std=0.1)
    centre = ring.mode_centres[0]
    inside = centre + torch.tensor([0.29, 0.0])
    outside = centre + torch.tensor([0.0, 0.31])
    result = mode_statistics(torch.stack([inside, outside]), ring.mode_centres, 0.1, **VEEGAN)
    assert result.hq_fraction == 0.5


def test_min_count_ignores_modes_hit_by_a_few_stray_samples():
    ring = ring8()
    samples = torch.cat([ring.mode_centres[[0]].repeat(5, 1), ring.mode_centres[[1]]])
    for min_count, covered in ((1, [0, 1]), (2, [0])):
        result = mode_statistics(samples, ring.mode_centres, ring.mode_std, 3.0, min_count)
        assert result.covered_modes == covered


def test_mode_metric_reports_named_keys_and_covered_set():
    ring = ring8()
    samples = ring.mode_centres[[1, 4]].repeat(10, 1)
    result = built(METRICS, "modes")(samples, samples, ring)
    assert result.values == {"hq_fraction": 1.0, "modes_covered": 2.0, "mode_kl": pytest.approx(math.log(4))}
    assert result.covered_modes == [1, 4]
    assert built(METRICS, "modes", min_count=3).protocol()["min_count"] == 3
