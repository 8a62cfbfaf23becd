"""Executors hand batches of trials (each an ensemble trained together) to workers: in this
process (``inline``), a pool of worker processes on this machine (``pool``), and beyond one machine
through an existing engine.

Every executor returns nothing but what its workers wrote to the store; the runner reads the
records back, so resume, code identity and reports work the same whichever executor ran a trial.
Workers report through two callbacks: progress (trial id, steps done, steps in all) and trial done
(trial id, status, after its record is written).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from genbench.runner.batch import TrialBatch, TrialDone, TrialProgress


class Executor(Protocol):
    def run(self, batches: Sequence[TrialBatch], progress: TrialProgress, trial_done: TrialDone) -> None: ...
