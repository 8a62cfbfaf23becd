"""What the executors that run trials on other machines (slurm, ray) share: the work a job or
task does there, and watching the run folder for the records it writes.

A remote job may run more than once: a preempted or timed-out SLURM job is requeued, Ray reruns a
task whose node died. So a job first leaves out the trials of its batches already recorded as done
by the same code (a rerun writes nothing twice), and the trial it was in the middle of goes on from
its saved state (``train.checkpoint_every``). On this side, nothing arrives but files: a trial is
done when its record appears (or changes: a trial rerun after a failure already had one), and a job
that ended without recording some of its trials gets a ``failed`` record for each, naming the job
and why it ended, so that the run's outcome and a rerun see them like any failed trial.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Sequence

from genbench.clock import utc_now
from genbench.errors import GenbenchError
from genbench.records import DONE_STATUSES, TrialStatus
from genbench.runner.batch import TrialBatch, TrialDone, failed_record, run_batch
from genbench.runner.interrupts import install_interrupt_flag
from genbench.store import RECORD_FILE, DamagedFile, RunStore

#: seconds between two looks at the run folder and the jobs
POLL_SECONDS = 1.0
#: pending trials whose record one look at the run folder checks, at most (``RecordWatch.poll``);
#: a job's trials are also checked as soon as the job ends
LOOKS_PER_POLL = 500
#: the end of a job's error log quoted in its trials' failed records
ERROR_TAIL_LINES = 15
ERROR_TAIL_CHARS = 1500


def run_batches_remotely(batches: Sequence[TrialBatch], threads: int) -> dict[str, str]:
    """On the worker: run each batch's trials not yet recorded as done by their code; the status of
    every trial of the batches (``{trial id: status}``), those recorded before included."""
    import torch

    torch.set_num_threads(threads)
    # a cancelled job gets SIGINT: it stops the job instead of failing the trial at hand
    install_interrupt_flag()
    statuses: dict[str, str] = {}
    for batch in batches:
        recorded = done_statuses(batch)
        statuses.update(recorded)
        rest = [i for i, trial in enumerate(batch.trials) if trial.id not in recorded]
        if rest:
            remaining = batch.part(rest)
            ran = run_batch(remaining)
            statuses.update(
                {trial.id: status.value for trial, status in zip(remaining.trials, ran, strict=True)}
            )
    return statuses


def done_statuses(batch: TrialBatch) -> dict[str, str]:
    """The batch's trials already recorded as done (finished or diverged) by the code that runs them."""
    store = RunStore(batch.run_dir)
    statuses = {}
    for trial, code in zip(batch.trials, batch.codes, strict=True):
        try:
            record = store.intact_record(trial.id)
        except DamagedFile:
            continue
        if record is not None and record.status in DONE_STATUSES and record.code == code:
            statuses[trial.id] = record.status.value
    return statuses


def check_gpus_granted(batches: Sequence[TrialBatch], gpus: float, setting: str) -> None:
    """Refuse a CUDA device for jobs that are granted no GPU: they would see none (SLURM and Ray
    hide the GPUs a job did not ask for), and every trial would fail there. ``auto`` is the
    worker's choice, the CPU when it has no GPU."""
    device = batches[0].device if batches else "cpu"
    if device.startswith("cuda") and gpus == 0:
        raise GenbenchError(
            f"--device {device} needs a GPU per job, but {setting} is 0: set it, or use --device auto or cpu"
        )


def error_tail(text: str | None) -> str:
    """The last lines of a job's error log, for a failed record."""
    if not text:
        return "(its error log is empty)"
    tail = "\n".join(text.rstrip().splitlines()[-ERROR_TAIL_LINES:])
    return tail[-ERROR_TAIL_CHARS:]


class RecordWatch:
    """The trials handed to remote workers, reported done as their records appear in the store."""

    def __init__(self, store: RunStore, batches: Sequence[TrialBatch], trial_done: TrialDone) -> None:
        self.store = store
        self.trial_done = trial_done
        self.batch_of = {trial.id: batch for batch in batches for trial in batch.trials}
        #: trial id -> what its record file was when the work was handed out (None: no record)
        self.before = {trial_id: self.stamp(trial_id) for trial_id in self.batch_of}
        self.pending = set(self.batch_of)
        #: the pending trials in the order the watch looks at them, round robin
        self.turns = deque(self.batch_of)

    def stamp(self, trial_id: str) -> tuple[int, int, int] | None:
        """The record file's identity: records are replaced by a rename, so a new one is a new inode."""
        try:
            stat = os.stat(self.store.trial_dir(trial_id) / RECORD_FILE)
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def poll(self, trial_ids: Iterable[str] | None = None) -> None:
        """Report the trials whose record was written since: ``trial_ids``, or by default the next
        ``LOOKS_PER_POLL`` pending trials in turn (each look is a ``stat``, on a shared file system a
        metadata request: a study of 10,000 trials is looked over in 20 polls, not all at once)."""
        for trial_id in list(self.next_turns() if trial_ids is None else trial_ids):
            if trial_id not in self.pending or self.stamp(trial_id) == self.before[trial_id]:
                continue
            try:
                record = self.store.record(trial_id)
            except DamagedFile:
                continue  # caught mid-replacement on a file system without atomic renames: look again
            if record is not None:
                self.report(trial_id, record.status)

    def next_turns(self) -> list[str]:
        """The next ``LOOKS_PER_POLL`` pending trials (fewer when fewer are pending), each put back
        at the end of the turns."""
        turns = []
        while self.turns and len(turns) < min(LOOKS_PER_POLL, len(self.pending)):
            trial_id = self.turns.popleft()
            if trial_id in self.pending:  # a trial reported done leaves the turns here
                turns.append(trial_id)
                self.turns.append(trial_id)
        return turns

    def report(self, trial_id: str, status: TrialStatus) -> None:
        if trial_id in self.pending:
            self.pending.discard(trial_id)
            self.trial_done(trial_id, status)

    def job_returned(self, statuses: dict[str, str]) -> None:
        """A job finished and said how each of its trials ended (its records are written)."""
        for trial_id, status in statuses.items():
            self.report(trial_id, TrialStatus(status))

    def job_failed(self, trial_ids: Iterable[str], cause: str) -> None:
        """A job ended without saying how its trials ended: those without a new record failed."""
        trial_ids = list(trial_ids)
        self.poll(trial_ids)
        started_at = utc_now()
        for trial_id in trial_ids:
            if trial_id not in self.pending:
                continue
            batch = self.batch_of[trial_id]
            index = next(i for i, trial in enumerate(batch.trials) if trial.id == trial_id)
            record = failed_record(
                batch.trials[index], batch.codes[index], batch.suite_name, cause, started_at, batch.attempt
            )
            self.store.write_trial(record)
            self.report(trial_id, TrialStatus.FAILED)
