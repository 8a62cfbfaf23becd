"""Failed trials run again within the run (``genbench run --retries N``).

A trial can fail for a reason outside it: memory taken by another process, a worker killed, a node
that hiccuped, a file system that timed out. With N retries, each trial that failed (its code
raised, its worker died, it ran past ``train.timeout``) is run again, up to N more times, once the
executor has run everything else. A retry runs the trial alone, not in an ensemble: the members it
trained with have their results already, and a trial that broke its ensemble would break another.
Progress and the run's summary count each trial once, and its record says how many attempts it took
(``TrialRecord.attempts``). Retries are an execution detail like ensembles: a trial that finishes on
its second attempt has the numbers it would have had on its first (training is seeded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from genbench.errors import GenbenchError
from genbench.records import TrialStatus
from genbench.runner.batch import TrialBatch
from genbench.runner.executors import Executor
from genbench.runner.progress import SuiteProgress


def check_retries(retries: int) -> None:
    if retries < 0:
        raise GenbenchError(f"--retries must be 0 or more, got {retries}")


class Attempts:
    """Between the executor's reports and the progress display: a failed trial with attempts left
    is put aside for a retry instead of being counted done."""

    def __init__(self, retries: int, progress: SuiteProgress) -> None:
        self.retries = retries
        self.progress = progress
        #: trial id -> the attempt running now, for the trials run again (absent: the first)
        self.attempt: dict[str, int] = {}
        #: the trials that failed with attempts left, in the order they failed
        self.failed: list[str] = []

    def trial_done(self, trial_id: str, status: TrialStatus) -> None:
        attempt = self.attempt.get(trial_id, 1)
        if status is TrialStatus.FAILED and attempt <= self.retries:
            self.failed.append(trial_id)
            self.progress.trial_retried(trial_id, attempt + 1, self.retries + 1)
            return
        self.progress.trial_done(trial_id, status)

    def take_failed(self) -> list[str]:
        """The trials to run again now, each counted one attempt further."""
        failed, self.failed = self.failed, []
        for trial_id in failed:
            self.attempt[trial_id] = self.attempt.get(trial_id, 1) + 1
        return failed


def run_with_retries(
    executor: Executor, batches: Sequence[TrialBatch], retries: int, progress: SuiteProgress
) -> None:
    """Run ``batches``, then each failed trial alone again while it has attempts left; the batch
    of a retry carries its attempt, which the trial's record states."""
    alone = {batch.trials[i].id: single for batch in batches for i, single in enumerate(batch.alone())}
    attempts = Attempts(retries, progress)
    executor.run(batches, progress.trial_step, attempts.trial_done)
    while failed := attempts.take_failed():
        retried = [replace(alone[trial_id], attempt=attempts.attempt[trial_id]) for trial_id in failed]
        executor.run(retried, progress.trial_step, attempts.trial_done)
