"""genbench's training step and loop against a plain hand-written PyTorch loop (issue 10: the
harness must cost at most 5%).

Both train the default suite's network (``suites/mode_collapse.yaml``'s first configuration: MLP
hidden 128, depth 3, batch 256, non-saturating loss, Adam lr 1e-3 betas (0.5, 0.999), ring8) from
the same initial weights on the same seeded data and latent streams, on one thread, for ``STEPS``
generator updates per round. The harness is what a run executes (``GanStep`` through
``train_steps``, with its signals and divergence checks); the plain loop is what one would write
by hand: a discriminator step and a generator step, each zero_grad, softplus losses, backward,
step. Run: ``.venv/bin/pytest benchmarks/test_harness.py --benchmark-only``; read the ratio of
the two rows of one run (benchmarks/README.md keeps the last one).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genbench.bench.measure import build_ensemble, training_step
from genbench.spec import TrialSpec
from genbench.train.loop import train_steps
from genbench.train.streams import DATA_STREAM, LATENT_STREAM, seeded
from genbench.train.trial import build_member

CPU = torch.device("cpu")
STEPS = 40
LEARNING_RATE, BETAS = 1e-3, (0.5, 0.999)


def check_learning_rate(spec: TrialSpec) -> None:
    """The plain loop hard-codes the default suite's optimizer settings; they must agree."""
    assert spec.optimizer.params["lr"] == LEARNING_RATE and tuple(spec.optimizer.params["betas"]) == BETAS


class PlainLoop:
    """The hand-written loop, on member 0's networks, data and streams as genbench builds them."""

    def __init__(self, spec: TrialSpec) -> None:
        check_learning_rate(spec)
        parts = build_member(spec, CPU)
        self.generator, self.discriminator = parts.networks.generator, parts.networks.discriminator
        self.dataset, self.latent_dim = parts.dataset, parts.networks.latent_dim
        self.batch_size = spec.train.batch_size
        self.generator_optimizer = torch.optim.Adam(self.generator.parameters(), LEARNING_RATE, betas=BETAS)
        self.discriminator_optimizer = torch.optim.Adam(
            self.discriminator.parameters(), LEARNING_RATE, betas=BETAS
        )
        self.data = seeded(CPU, spec.seed + DATA_STREAM)
        self.latents = seeded(CPU, spec.seed + LATENT_STREAM)

    def latent_batch(self) -> torch.Tensor:
        return torch.randn(self.batch_size, self.latent_dim, generator=self.latents)

    def __call__(self) -> None:
        generator, discriminator = self.generator, self.discriminator
        for _ in range(STEPS):
            real = self.dataset.sample(self.batch_size, self.data)
            with torch.no_grad():
                fake = generator(self.latent_batch())
            d_loss = F.softplus(-discriminator(real)).mean() + F.softplus(discriminator(fake)).mean()
            self.discriminator_optimizer.zero_grad()
            d_loss.backward()
            self.discriminator_optimizer.step()
            g_loss = F.softplus(-discriminator(generator(self.latent_batch()))).mean()
            self.generator_optimizer.zero_grad()
            g_loss.backward()
            self.generator_optimizer.step()


@pytest.mark.benchmark(group="harness vs plain loop (40 steps)")
def test_genbench_step_and_loop(benchmark, spec, one_thread):
    step = training_step(build_ensemble(spec, 1, CPU), CPU)

    def train() -> None:
        for _ in train_steps(step.step, step.signals, 1, STEPS, set(), CPU):
            pass

    benchmark(train)


@pytest.mark.benchmark(group="harness vs plain loop (40 steps)")
def test_plain_pytorch_loop(benchmark, spec, one_thread):
    benchmark(PlainLoop(spec))
