"""Precision/recall and density/coverage against the prdc package (Naeem et al.'s reference code)
and against the values the papers give for identical distributions."""

from __future__ import annotations

import numpy as np
import prdc
import pytest
import torch

from genbench.catalog import METRICS
from genbench.metrics.prdc import precision_recall_density_coverage

from .components import built


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(600, 2))
    fake = rng.normal(loc=0.4, scale=0.8, size=(500, 2))
    return real, fake


def test_precision_recall_equal_reference_implementation(points):
    """Also equal to torch-fidelity's implementation, which ``prdc`` agrees with."""
    real, fake = points
    expected = prdc.compute_prdc(real_features=real, fake_features=fake, nearest_k=3)
    values = built(METRICS, "prdc", k_precision_recall=3)(torch.tensor(fake), torch.tensor(real), None).values
    assert values["precision"] == pytest.approx(expected["precision"], abs=1e-6)
    assert values["recall"] == pytest.approx(expected["recall"], abs=1e-6)


def test_density_coverage_equal_reference_implementation(points):
    real, fake = points
    expected = prdc.compute_prdc(real_features=real, fake_features=fake, nearest_k=5)
    values = built(METRICS, "prdc", k_density_coverage=5)(torch.tensor(fake), torch.tensor(real), None).values
    assert values["density"] == pytest.approx(expected["density"], abs=1e-12)
    assert values["coverage"] == pytest.approx(expected["coverage"], abs=1e-12)


def test_identical_distributions_give_density_one_and_coverage_one_minus_2_to_minus_k():
    generator = torch.Generator().manual_seed(1)
    real = torch.randn(3000, 2, generator=generator, dtype=torch.float64)
    fake = torch.randn(3000, 2, generator=generator, dtype=torch.float64)
    values = precision_recall_density_coverage(fake, real, k_precision_recall=3, k_density_coverage=5)
    assert values["density"] == pytest.approx(1.0, abs=0.05)
    assert values["coverage"] == pytest.approx(1 - 2**-5, abs=0.02)


def test_collapsed_generator_has_high_precision_but_low_recall_and_coverage():
    generator = torch.Generator().manual_seed(2)
    real = torch.randn(1000, 2, generator=generator, dtype=torch.float64)
    collapsed = 0.05 * torch.randn(1000, 2, generator=generator, dtype=torch.float64)
    values = built(METRICS, "prdc")(collapsed, real, None).values
    assert values["precision"] > 0.95
    assert values["recall"] < 0.1
    assert values["coverage"] < 0.1


def test_samples_beyond_one_block_equal_reference_implementation():
    """3,000 samples of 64 float64 values: each distance matrix (72 MB) is more than a block
    (``DISTANCE_BLOCK_BYTES``, 32 MiB), so it is computed 1,398 rows at a time."""
    rng = np.random.default_rng(5)
    real = rng.normal(size=(3000, 64))
    fake = rng.normal(loc=0.1, size=(3000, 64))
    expected = prdc.compute_prdc(real_features=real, fake_features=fake, nearest_k=5)
    values = precision_recall_density_coverage(
        torch.tensor(fake), torch.tensor(real), k_precision_recall=5, k_density_coverage=5
    )
    assert values == pytest.approx(expected, abs=1e-12)
