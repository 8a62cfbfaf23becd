"""The runner's unit of work: a batch of trials, run in isolation, each written to the store.

Workers write each trial's record themselves (atomically), so results are collected from the
records on disk the same way for every executor, and a trial's result never depends on which
batch or worker ran it. An exception in one trial becomes a ``failed`` record; the batch goes on.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genbench.records import TrialRecord, TrialStatus
from genbench.store import RunStore
from genbench.suite import Trial

#: (trial id, steps done, steps in all)
TrialProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TrialBatch:
    trials: tuple[Trial, ...]
    suite_name: str
    run_dir: Path
    device: str


def run_batch(batch: TrialBatch, progress: TrialProgress | None = None) -> list[TrialStatus]:
    """Run every trial of ``batch``, write its record, and return the statuses in order."""
    import torch

    from genbench.train.trial import now, run_trial

    store = RunStore(batch.run_dir)
    device = torch.device(batch.device)
    statuses = []
    for trial in batch.trials:
        started_at = now()
        trial_progress = (lambda done, total, tid=trial.id: progress(tid, done, total)) if progress else None
        try:
            outcome = run_trial(trial, batch.suite_name, device, trial_progress)
        except Exception as error:  # isolation: one broken trial must not stop the suite
            store.write_trial(failed_record(trial, batch.suite_name, error, started_at, now()))
            statuses.append(TrialStatus.FAILED)
            continue
        store.write_trial(
            outcome.record, outcome.curves, outcome.samples, outcome.mode_centres, outcome.checkpoint
        )
        statuses.append(outcome.record.status)
    return statuses


def failed_record(
    trial: Trial, suite_name: str, error: BaseException, started_at: str, finished_at: str
) -> TrialRecord:
    last_frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    where = f" (at {last_frame[0].filename}:{last_frame[0].lineno})" if last_frame else ""
    return TrialRecord(
        id=trial.id,
        suite=suite_name,
        status=TrialStatus.FAILED,
        spec=trial.spec.model_dump(mode="json"),
        grid=trial.grid,
        grid_columns=trial.grid_columns,
        error=f"{type(error).__name__}: {error}{where}",
        started_at=started_at,
        finished_at=finished_at,
    )
