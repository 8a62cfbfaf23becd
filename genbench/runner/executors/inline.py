"""Batches run one after another in this process."""

from __future__ import annotations

from collections.abc import Sequence

from genbench.runner.batch import TrialBatch, TrialDone, TrialProgress, run_batch


class InlineExecutor:
    """Runs batches one after another in this process: for debugging and the library's tests. A
    trial that exhausts memory takes this process with it, so the command line never uses it. A
    stop signal (SIGINT, SIGTERM) ends the trial at hand and reaches the caller as the
    ``KeyboardInterrupt`` it raised (genbench.runner.interrupts); there is no process to stop."""

    def run(self, batches: Sequence[TrialBatch], progress: TrialProgress, trial_done: TrialDone) -> None:
        for batch in batches:
            run_batch(batch, progress, trial_done)
