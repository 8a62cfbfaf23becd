"""Trials trained as one vectorized ensemble against the same trials trained one after another.

The default suite's network (``suites/mode_collapse.yaml``'s first configuration: MLP hidden 128,
depth 3, batch 256, NS loss, Adam, ring8) on one thread, through the runner's path (members built
under their own seeds and stacked, ``GanStep`` and ``train_steps``). Every round does the same
work, ``TRIAL_STEPS`` trial-steps: 8 separate trials of 40 steps each, an ensemble of 8 for 40
steps, an ensemble of 32 for 10 steps; so the rows' times compare directly and their ratios are
the speedups per trial-step. Run: ``.venv/bin/pytest benchmarks/test_ensembles.py
--benchmark-only`` (benchmarks/README.md keeps the last ratios).
"""

from __future__ import annotations

import pytest
import torch

from genbench.bench.measure import build_ensemble, training_step
from genbench.spec import TrialSpec
from genbench.train.loop import train_steps
from genbench.train.step import TrainingStep

CPU = torch.device("cpu")
TRIAL_STEPS = 320
SEPARATE_TRIALS = 8


def ensemble_step(spec: TrialSpec, members: int, seed: int = 0) -> TrainingStep:
    """The step of ``members`` trials of ``spec`` with seeds ``seed`` .. ``seed + members - 1``."""
    return training_step(build_ensemble(spec.model_copy(update={"seed": seed}), members, CPU), CPU)


def train(step: TrainingStep, members: int, steps: int) -> None:
    for _ in train_steps(step.step, step.signals, members, steps, set(), CPU):
        pass


@pytest.mark.benchmark(group=f"{TRIAL_STEPS} trial-steps")
def test_8_separate_trials(benchmark, spec, one_thread):
    steps = [ensemble_step(spec, 1, seed) for seed in range(SEPARATE_TRIALS)]
    benchmark(lambda: [train(step, 1, TRIAL_STEPS // SEPARATE_TRIALS) for step in steps])


@pytest.mark.parametrize("members", [8, 32])
@pytest.mark.benchmark(group=f"{TRIAL_STEPS} trial-steps")
def test_one_ensemble(benchmark, spec, one_thread, members):
    step = ensemble_step(spec, members)
    benchmark(train, step, members, TRIAL_STEPS // members)
