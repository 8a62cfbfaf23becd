"""What the benchmarks share: built-in components as a suite builds them, and the default suite's
first configuration on one thread."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genbench.bench.plan import configurations
from genbench.registry import Registry
from genbench.spec import TrialSpec
from genbench.suite import load_suite

DEFAULT_SUITE = Path(__file__).resolve().parents[1] / "suites" / "mode_collapse.yaml"


def built(registry: Registry, name: str, *args, **params):
    """A built-in component with its parameter model's defaults, as a suite builds it."""
    entry = registry.get(name)
    return entry.load()(*args, **entry.params_model()(**params).model_dump())


@pytest.fixture
def one_thread():
    """One thread, as each worker of a CPU run trains; restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def spec() -> TrialSpec:
    """The default suite's first configuration (MLP hidden 128, depth 3, batch 256, ns, Adam)."""
    return configurations(load_suite(DEFAULT_SUITE), max_configs=1)[0].spec
