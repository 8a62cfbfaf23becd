"""The runner's unit of work: a batch of trials trained together as one vectorized ensemble (a
single trial when it runs alone), each trial written to the store.

Workers write each trial's record themselves (atomically), so results are collected from the
records on disk the same way for every executor, and a trial's result never depends on which
ensemble or worker ran it. An ensemble that fails as a whole is run again one trial at a time, so
a trial that breaks it fails alone. An exception in a trial running alone becomes a ``failed``
record and the work goes on; so do ``SystemExit`` and a ``KeyboardInterrupt`` raised by user code,
which end that trial, not the suite. Only a real interrupt (SIGINT) stops the batch.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from genbench.clock import utc_now
from genbench.code_identity import CodeIdentity
from genbench.records import TrialRecord, TrialStatus
from genbench.runner.devices import resolve_device
from genbench.runner.interrupts import interrupted_by_signal
from genbench.spec import Trial
from genbench.store import RunStore

#: (trial id, steps done, steps in all); every trial reports (id, 0, steps) when it starts
TrialProgress = Callable[[str, int, int], None]
#: (trial id, status), called once the trial's record is written
TrialDone = Callable[[str, TrialStatus], None]


@dataclass(frozen=True)
class TrialBatch:
    """Trials that train together as one ensemble (genbench.runner.ensembles)."""

    trials: tuple[Trial, ...]
    #: the identity of the code that runs each trial, in the order of ``trials``
    codes: tuple[CodeIdentity, ...]
    suite_name: str
    run_dir: Path
    #: as the user named it (``auto``, ``cuda``...): resolved by the worker that runs the batch
    device: str

    def alone(self) -> list[TrialBatch]:
        """Each trial as a batch of its own."""
        return [
            replace(self, trials=(trial,), codes=(code,))
            for trial, code in zip(self.trials, self.codes, strict=True)
        ]


def run_batch(
    batch: TrialBatch, progress: TrialProgress | None = None, trial_done: TrialDone | None = None
) -> list[TrialStatus]:
    """Train the batch's trials together, write each trial's record, and return the statuses in
    order. An ensemble of several trials that raises is run again one trial at a time."""
    import torch

    from genbench.train.trial import run_trials

    store = RunStore(batch.run_dir)
    started_at = utc_now()
    if progress is not None:
        for trial in batch.trials:
            progress(trial.id, 0, trial.spec.train.steps)
    try:
        outcomes = run_trials(
            batch.trials, batch.suite_name, torch.device(resolve_device(batch.device)), progress
        )
    except (Exception, SystemExit, KeyboardInterrupt) as error:
        # isolation: one broken trial must not stop the others, whatever it raised
        if isinstance(error, KeyboardInterrupt) and interrupted_by_signal():
            raise
        if len(batch.trials) > 1:
            print(
                f"warning: an ensemble of {len(batch.trials)} trials failed ({describe_error(error)}); "
                "running its trials one at a time",
                file=sys.stderr,
            )
            return [status for alone in batch.alone() for status in run_batch(alone, progress, trial_done)]
        (trial,), (code,) = batch.trials, batch.codes
        record = failed_record(trial, code, batch.suite_name, describe_error(error), started_at)
        store.write_trial(record)
        return [reported(record, trial_done)]
    statuses = []
    for code, outcome in zip(batch.codes, outcomes, strict=True):
        record = outcome.record.model_copy(update={"code": code})
        store.write_trial(record, outcome.curves, outcome.samples, outcome.mode_centres, outcome.checkpoint)
        statuses.append(reported(record, trial_done))
    return statuses


def reported(record: TrialRecord, trial_done: TrialDone | None) -> TrialStatus:
    """Say that the trial of a written ``record`` is done; its status."""
    if trial_done is not None:
        trial_done(record.id, record.status)
    return record.status


def describe_error(error: BaseException) -> str:
    """``Type: message (at file:line)``; says so when user code tried to end the process."""
    last_frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    where = f" (at {last_frame[0].filename}:{last_frame[0].lineno})" if last_frame else ""
    if isinstance(error, SystemExit):
        return f"SystemExit: the trial's code called sys.exit({error.code!r}){where}"
    if isinstance(error, KeyboardInterrupt):
        return f"KeyboardInterrupt raised by the trial's code{where}"
    if isinstance(error, MemoryError):
        return f"MemoryError: out of memory{where}; make the batches or sample counts smaller"
    return f"{type(error).__name__}: {str(error) or '(no message)'}{where}"


def failed_record(
    trial: Trial, code: CodeIdentity, suite_name: str, error: str, started_at: str
) -> TrialRecord:
    """The record of a trial that failed now."""
    return TrialRecord(
        id=trial.id,
        suite=suite_name,
        status=TrialStatus.FAILED,
        spec=trial.spec.model_dump(mode="json"),
        grid=trial.grid,
        grid_columns=trial.grid_columns,
        error=error,
        code=code,
        started_at=started_at,
        finished_at=utc_now(),
    )
