"""The runner's unit of work: a batch of trials trained together as one vectorized ensemble (a
single trial when it runs alone), each trial written to the store.

Workers write each trial's record themselves (atomically), so results are collected from the
records on disk the same way for every executor, and a trial's result never depends on which
ensemble or worker ran it. An ensemble that fails as a whole is run again one trial at a time, so
a trial that breaks it fails alone. An exception in a trial running alone becomes a ``failed``
record and the work goes on; so do ``SystemExit`` and a ``KeyboardInterrupt`` raised by user code,
which end that trial, not the suite. Only a real interrupt (SIGINT) stops the batch.

A batch run again (after a kill, a preempted job, a timeout) continues its trials from their saved
training states (``train.checkpoint_every``, ``genbench.train.training_state``). Members of an
ensemble must train in lockstep, so members saved at different steps (or some never saved) train as
sub-ensembles, one per step; a trial's state is removed once its record is written. A trial over
``train.timeout`` is recorded as failed, and with it every member of its ensemble, whose wall time
it shares.
"""

from __future__ import annotations

import sys
import traceback
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from genbench.clock import utc_now
from genbench.code_identity import CodeIdentity
from genbench.records import TrialRecord, TrialStatus
from genbench.runner.devices import resolve_device
from genbench.runner.interrupts import interrupted_by_signal
from genbench.spec import Trial
from genbench.store import RunStore

if TYPE_CHECKING:
    from genbench.train.training_state import SavedTraining, TrainingStates

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
    #: which run of its trials this is: more than 1 for a trial run again after it failed
    #: (genbench.runner.retries); each record says it
    attempt: int = 1

    def alone(self) -> list[TrialBatch]:
        """Each trial as a batch of its own."""
        return [self.part([index]) for index in range(len(self.trials))]

    def part(self, indices: Sequence[int]) -> TrialBatch:
        """The batch of the trials at ``indices``."""
        return replace(
            self,
            trials=tuple(self.trials[index] for index in indices),
            codes=tuple(self.codes[index] for index in indices),
        )


def run_batch(
    batch: TrialBatch, progress: TrialProgress | None = None, trial_done: TrialDone | None = None
) -> list[TrialStatus]:
    """Train the batch's trials together, write each trial's record, and return the statuses in
    order. Trials continue from their saved training states, in one sub-ensemble per saved step; an
    ensemble of several trials that raises is run again one trial at a time."""
    from genbench.train.training_state import TrainingStates

    state_files = TrainingStates(
        RunStore(batch.run_dir),
        {trial.id: code for trial, code in zip(batch.trials, batch.codes, strict=True)},
    )
    saved = [state_files.load(trial.id) for trial in batch.trials]
    by_step: dict[int, list[int]] = defaultdict(list)
    for index, state in enumerate(saved):
        by_step[state.step if state is not None else 0].append(index)
    statuses: dict[str, TrialStatus] = {}
    for indices in by_step.values():
        part = batch.part(indices)
        part_saved = [saved[index] for index in indices]
        outcome = run_lockstep(part, part_saved, state_files, progress, trial_done)
        statuses.update(zip((trial.id for trial in part.trials), outcome, strict=True))
    return [statuses[trial.id] for trial in batch.trials]


def run_lockstep(
    batch: TrialBatch,
    saved: list[SavedTraining | None],
    state_files: TrainingStates,
    progress: TrialProgress | None,
    trial_done: TrialDone | None,
) -> list[TrialStatus]:
    """``run_batch`` of trials that start at one step (their ``saved`` states')."""
    import torch

    from genbench.train.deadline import TrialTimeout
    from genbench.train.trial import run_trials

    store = RunStore(batch.run_dir)
    started_at = utc_now()
    if progress is not None:
        for trial, state in zip(batch.trials, saved, strict=True):
            progress(trial.id, state.step if state is not None else 0, trial.spec.train.steps)
    try:
        outcomes = run_trials(
            batch.trials,
            batch.suite_name,
            torch.device(resolve_device(batch.device)),
            progress,
            saved=saved,
            state_files=state_files,
        )
    except TrialTimeout as timeout:
        # the ensemble's wall time ran out: every member fails, its state saved for a rerun
        records = [
            failed_record(
                trial, code, batch.suite_name, f"TrialTimeout: {timeout}", started_at, batch.attempt
            )
            for trial, code in zip(batch.trials, batch.codes, strict=True)
        ]
        for record in records:
            store.write_trial(record)
        return [reported(record, trial_done) for record in records]
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
        record = failed_record(
            trial, code, batch.suite_name, describe_error(error), started_at, batch.attempt
        )
        store.write_trial(record)
        return [reported(record, trial_done)]
    statuses = []
    for code, outcome in zip(batch.codes, outcomes, strict=True):
        record = outcome.record.model_copy(update={"code": code, "attempts": batch.attempt})
        store.write_trial(record, outcome.curves, outcome.samples, outcome.mode_centres, outcome.checkpoint)
        state_files.remove(record.id)
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
    trial: Trial, code: CodeIdentity, suite_name: str, error: str, started_at: str, attempts: int = 1
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
        attempts=attempts,
        started_at=started_at,
        finished_at=utc_now(),
    )
