"""What the training benchmarks share: the default suite's first configuration, on one thread."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genbench.bench.plan import configurations
from genbench.spec import TrialSpec
from genbench.suite import load_suite

DEFAULT_SUITE = Path(__file__).resolve().parents[1] / "suites" / "mode_collapse.yaml"


@pytest.fixture
def one_thread():
    """One thread, as each worker of a CPU run trains; restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def spec() -> TrialSpec:
    """The default suite's first configuration (MLP hidden 64, depth 3, batch 128, ns, Adam)."""
    return configurations(load_suite(DEFAULT_SUITE), max_configs=1)[0].spec
