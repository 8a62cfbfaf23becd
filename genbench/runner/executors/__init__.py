"""Executors hand batches of trials (each an ensemble trained together) to workers: in this
process (``inline``), a pool of worker processes on this machine (``local``), and beyond one machine
through an existing engine: SLURM job arrays through submitit (``slurm``), Ray tasks (``ray``).

Every executor returns nothing but what its workers wrote to the store; the runner reads the
records back, so resume, code identity and reports work the same whichever executor ran a trial.
Workers report through two callbacks: progress (trial id, steps done, steps in all) and trial done
(trial id, status, after its record is written). Executors that run trials on other machines see
no steps, only records as they appear (``genbench.runner.executors.remote``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from genbench.errors import GenbenchError
from genbench.registry import Registry
from genbench.runner.batch import TrialBatch, TrialDone, TrialProgress

if TYPE_CHECKING:
    from genbench.runner.executors.settings import ExecutionSettings


class Executor(Protocol):
    def run(self, batches: Sequence[TrialBatch], progress: TrialProgress, trial_done: TrialDone) -> None: ...


LOCAL = "local"

#: the executors a suite's ``execution.executor`` and ``genbench run --executor`` may name; each
#: target but the local pool (whose size the runner sets) is built from the execution settings and
#: the run folder
EXECUTORS = Registry("executor")
EXECUTORS.register(
    LOCAL,
    "genbench.runner.executors.pool:ProcessPoolRunner",
    "worker processes on this machine (the default)",
)
EXECUTORS.register(
    "slurm",
    "genbench.runner.executors.slurm:SlurmExecutor",
    "SLURM job arrays through submitit, one job per ensemble; preempted jobs requeue and resume "
    "(pip install 'genbench[slurm]')",
)
EXECUTORS.register(
    "ray",
    "genbench.runner.executors.ray:RayExecutor",
    "one Ray task per ensemble on a Ray cluster, or on a single-node Ray it starts "
    "(pip install 'genbench[ray]')",
)


def build_executor(settings: ExecutionSettings, run_dir: Path, local: Callable[[], Executor]) -> Executor:
    """The executor the settings name; ``local()`` builds this machine's pool."""
    if settings.executor == LOCAL:
        return local()
    return EXECUTORS.get(settings.executor).load()(settings, run_dir)


def check_available(settings: ExecutionSettings) -> None:
    """Raise ``GenbenchError`` now, before anything is written, when the executor's optional
    package is not installed (importing its module says which extra to install)."""
    EXECUTORS.get(settings.executor).load()


def import_extra(package: str, extra: str) -> ModuleType:
    """The optional ``package`` behind an executor, or an error naming the extra that installs it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise GenbenchError(
            f"the {extra} executor needs the '{package}' package: pip install 'genbench[{extra}]'"
        ) from None
