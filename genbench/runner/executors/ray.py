"""The ray executor: each batch (an ensemble, or a lone trial) one Ray task.

Ray schedules the tasks over a cluster by the CPUs and GPUs each asks for (``cpus_per_task``,
``gpus_per_task``); we write no scheduler. With an ``address`` (``auto``, ``HOST:PORT``) the run
joins that cluster, whose nodes must have genbench installed and see the run folder (a shared file
system); without one it starts a single-node Ray on this machine and stops it after. Nothing of the
working directory is uploaded: tasks import the installed genbench and write to the run folder.

Here the run folder is watched for records (``remote.RecordWatch``), and a task's return value
says how its trials ended. Ray reruns a task whose worker or node died (``max_retries``); the rerun
skips the trials already recorded. A task that raises, or that Ray gives up on (its worker died
too often, out of memory), leaves a failed record for each trial it did not record. Ctrl-C (or
SIGTERM) cancels the tasks (``ray.cancel(force=True)``) and stops Ray if the run started it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from genbench.runner.batch import TrialBatch, TrialDone, TrialProgress
from genbench.runner.executors import import_extra
from genbench.runner.executors.remote import (
    POLL_SECONDS,
    RecordWatch,
    check_gpus_granted,
    error_tail,
    run_batches_remotely,
)
from genbench.runner.executors.settings import ExecutionSettings, RaySettings
from genbench.runner.interrupts import stop_handlers_kept
from genbench.store import RunStore

ray = import_extra("ray", "ray")


def run_batch_task(batch: TrialBatch, threads: int) -> dict[str, str]:
    """The body of a task: ``{trial id: status}`` of the batch's trials."""
    return run_batches_remotely((batch,), threads)


class RayExecutor:
    """Runs each batch as a Ray task and watches the run folder until every task has ended."""

    def __init__(self, settings: ExecutionSettings, run_dir: Path) -> None:
        self.settings: RaySettings = settings.ray
        self.run_dir = Path(run_dir)

    def connect(self) -> bool:
        """Join the cluster the settings name, or start a single-node Ray; whether this run started
        Ray (and so stops it). A Ray already initialized in this process (a notebook's, a test's) is used."""
        if ray.is_initialized():
            return False
        if self.settings.address is None:
            # a Ray of our own reports no usage statistics unless its user asked for them
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # ray.init makes SIGTERM abort this process: the run's clean stop must keep it
        with stop_handlers_kept():
            ray.init(
                # "local": a Ray of its own, not one that `ray start` left running on this machine
                address=self.settings.address or "local",
                include_dashboard=False,
                logging_level="WARNING",
                configure_logging=True,
            )
        return True

    def run(self, batches: Sequence[TrialBatch], progress: TrialProgress, trial_done: TrialDone) -> None:
        check_gpus_granted(batches, self.settings.gpus_per_task, "execution.ray.gpus_per_task")
        started = self.connect()
        try:
            self.run_tasks(batches, trial_done)
        finally:
            if started:
                ray.shutdown()

    def run_tasks(self, batches: Sequence[TrialBatch], trial_done: TrialDone) -> None:
        settings = self.settings
        task = ray.remote(run_batch_task).options(
            num_cpus=settings.cpus_per_task, num_gpus=settings.gpus_per_task, max_retries=settings.max_retries
        )
        threads = max(1, int(settings.cpus_per_task))
        watch = RecordWatch(RunStore(self.run_dir), batches, trial_done)
        running = {task.remote(batch, threads): batch for batch in batches}
        try:
            while running:
                ready, _ = ray.wait(list(running), num_returns=len(running), timeout=POLL_SECONDS)
                watch.poll()
                for ref in ready:
                    collect(ref, running.pop(ref), watch)
        except KeyboardInterrupt:
            for ref in running:
                ray.cancel(ref, force=True)
            raise


def collect(ref: ray.ObjectRef, batch: TrialBatch, watch: RecordWatch) -> None:
    """Report a finished task's trials: from its result, or as failed where it recorded none."""
    try:
        watch.job_returned(ray.get(ref))
    except ray.exceptions.RayError as error:
        cause = (
            f"RayTaskFailed: its Ray task ended without recording this trial ({type(error).__name__}):\n"
            f"{error_tail(str(error))}"
        )
        watch.job_failed((trial.id for trial in batch.trials), cause)
