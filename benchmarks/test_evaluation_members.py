"""Evaluation of an ensemble's members: all at once (``evaluate_members``) against one call each.

The mode metrics and PRDC of 8 members of 2,500 ring8 samples against a reference of 2,500. Batched,
the reference's k-NN radii are computed once instead of once per member, and the members' distances
in a few batched calls. Run: ``.venv/bin/pytest benchmarks/test_evaluation_members.py
--benchmark-only``; compare the two rows of one run (a ratio), not numbers from another machine.
"""

from __future__ import annotations

import pytest
import torch

from genbench.catalog import DATASETS, METRICS
from genbench.metrics.base import evaluate_members

from .conftest import built

MEMBERS = 8
SAMPLES = 2500


@pytest.fixture(scope="module")
def ensemble():
    ring = built(DATASETS, "ring8")
    generated = torch.stack(
        [ring.sample(SAMPLES, torch.Generator().manual_seed(seed)) for seed in range(MEMBERS)]
    )
    reference = ring.sample(SAMPLES, torch.Generator().manual_seed(MEMBERS))
    metrics = [built(METRICS, name) for name in ("modes", "prdc")]
    return ring, generated, reference, metrics


def test_modes_and_prdc_of_8_members_at_once(benchmark, ensemble):
    ring, generated, reference, metrics = ensemble
    benchmark(lambda: [evaluate_members(metric, generated, reference, ring) for metric in metrics])


def test_modes_and_prdc_of_8_members_one_call_each(benchmark, ensemble):
    ring, generated, reference, metrics = ensemble
    benchmark(lambda: [[metric(member, reference, ring) for member in generated] for metric in metrics])
