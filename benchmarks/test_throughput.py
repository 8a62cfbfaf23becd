"""Speed of the hot paths, measured with pytest-benchmark.

Run: ``.venv/bin/pytest benchmarks --benchmark-only``. Compare the rows of one run with each other
(ratios), not with numbers from another machine or another run.
"""

from __future__ import annotations

import pytest
import torch
from torch_fidelity.metric_prc import calculate_precision_recall_full

from genbench.catalog import DATASETS, LOSSES, MODELS
from genbench.metrics.modes import mode_statistics
from genbench.metrics.params import ModesParams, PrdcParams
from genbench.metrics.prdc import precision_recall_density_coverage
from genbench.models.stacking import stack_networks
from genbench.optim import build_optimizer
from genbench.train.gan import GanStep, gan_hooks

from .conftest import built

SAMPLES = 2500


def streams(data_seed: int, latent_seed: int):
    """One trial's training streams from explicit seeds."""
    from genbench.train.streams import MemberStreams, TrainingStreams

    def stream(seed: int) -> MemberStreams:
        return MemberStreams([torch.Generator().manual_seed(seed)])

    return TrainingStreams(data=stream(data_seed), latent=stream(latent_seed), penalty=stream(3))


@pytest.fixture(scope="module")
def sample_sets():
    ring = built(DATASETS, "ring8")
    generated = ring.sample(SAMPLES, torch.Generator().manual_seed(0))
    real = ring.sample(SAMPLES, torch.Generator().manual_seed(1))
    return ring, generated, real


def test_prdc_all_four_from_shared_distances(benchmark, sample_sets):
    _, generated, real = sample_sets
    benchmark(precision_recall_density_coverage, generated, real, **PrdcParams().model_dump())


def test_torch_fidelity_precision_recall_only(benchmark, sample_sets):
    """The upstream precision/recall alone, for the ratio against the shared-distance version."""
    _, generated, real = sample_sets
    benchmark(calculate_precision_recall_full, generated, real, 3)


def test_mode_statistics(benchmark, sample_sets):
    ring, generated, _ = sample_sets
    benchmark(mode_statistics, generated, ring.mode_centres, ring.mode_std, **ModesParams().model_dump())


@pytest.mark.parametrize("loss", ["ns", "wgan-gp"])
def test_gan_training_step(benchmark, loss):
    """One discriminator and one generator update of the default suite's model (hidden 128, batch 256)."""
    torch.manual_seed(0)
    networks = built(MODELS, "mlp_gan", (2,), latent_dim=2, hidden=64, depth=3)
    params = {"lr": 1e-3, "betas": (0.5, 0.999)}
    objective = built(LOSSES, loss)
    step = GanStep(
        networks=stack_networks([networks]),
        datasets=[built(DATASETS, "ring8")],
        loss=objective,
        hooks=gan_hooks(objective, penalty=None),
        generator_optimizer=build_optimizer("adam", params, "generator", networks.generator.parameters()),
        discriminator_optimizer=build_optimizer(
            "adam", params, "discriminator", networks.discriminator.parameters()
        ),
        batch_size=128,
        d_steps=1,
        streams=streams(1, 2),
    )
    benchmark(step)
