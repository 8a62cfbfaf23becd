"""Shared fixtures: small suites written into a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

# The models in the tests are tiny: one thread per process is faster than two that contend for the
# two cores of a CI machine (measured: a 64x256 linear layer took 50 ms with two threads under
# load, 0.6 ms with one).
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
#: the installed command line, as a user runs it
GENBENCH = str(Path(sys.executable).with_name("genbench"))

TINY_SUITE = """
name: tiny
dataset: {name: ring8}
model: {name: mlp_gan, params: {latent_dim: 2, hidden: 16, depth: 2}}
loss: ns
optimizer: {name: adam, lr: 1.0e-3}
train: {steps: 40, batch_size: 32, eval_every: 20, eval_samples: 256}
metrics: [modes, prdc]
"""


@pytest.fixture
def write_suite(tmp_path: Path):
    """Write a suite text (dedented) to tmp_path and return its path."""

    def write(text: str, name: str = "suite.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write


def run_dir_of(suite_path: Path, *args, **kwargs) -> Path:
    """The run folder of ``run_suite`` on the suite at ``suite_path``. ``workers=1`` runs in this
    process (a worker process costs a torch import); the command line's tests cover worker processes."""
    from genbench.runner import run_suite
    from genbench.suite import load_suite

    if kwargs.get("workers") == 1:
        kwargs["in_process"] = True
    return run_suite(load_suite(suite_path), *args, **kwargs).run_dir


def genbench_process(
    *args: object, cwd: Path | None = None, pythonpath: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """The installed ``genbench`` in a process of its own (exit code, stderr, no traceback), with
    ``pythonpath`` where the suite names user modules."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    command = [GENBENCH, *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
