"""Batches run one after another in this process."""

from __future__ import annotations

from collections.abc import Sequence

from genbench.runner.batch import TrialBatch, TrialDone, TrialProgress, run_batch


class InlineExecutor:
    """Runs batches one after another in this process: for debugging and the library's tests. A
    trial that exhausts memory takes this process with it, so the command line never uses it."""

    def run(self, batches: Sequence[TrialBatch], progress: TrialProgress, trial_done: TrialDone) -> None:
        for batch in batches:
            run_batch(batch, progress, trial_done)
