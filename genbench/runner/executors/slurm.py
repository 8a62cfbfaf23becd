"""The slurm executor: the batches as one SLURM job array, through submitit.

submitit is what the PyTorch research community submits SLURM jobs with; we write no scheduler.
Each task of the array runs ``batches_per_job`` batches (ensembles, or lone trials) one after
another, at most ``array_parallelism`` tasks at once, with the partition, GPUs, CPUs, memory and time
limit of the settings; submitit's files and each job's logs go to ``<run>/slurm/``. A job is
``Checkpointable``: when SLURM preempts it or its time limit nears, submitit requeues the same
submission, and the rerun skips the trials already recorded and continues the one it was in from
its saved state (``train.checkpoint_every``). The device (``auto``, ``cuda``...) is resolved on the
node that runs the job.

Here the run folder is watched for records (``remote.RecordWatch``): a trial is done when its record
appears; a job that ends without recording some trials (a crash, ``scancel``, out of memory, too
many requeues) gets a failed record for each, naming the job id and the end of its error log.
Ctrl-C (or SIGTERM) cancels the jobs not finished, then stops the run; run it again to resume.

``cluster: local`` runs the jobs as processes on this machine through the same code path
(submitit's local executor), which is how the tests run it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from genbench.errors import GenbenchError
from genbench.runner.batch import TrialBatch, TrialDone, TrialProgress
from genbench.runner.executors import import_extra
from genbench.runner.executors.remote import (
    POLL_SECONDS,
    RecordWatch,
    check_gpus_granted,
    error_tail,
    run_batches_remotely,
)
from genbench.runner.executors.settings import ExecutionSettings, SlurmSettings
from genbench.runner.interrupts import install_interrupt_flag
from genbench.store import RunStore

submitit = import_extra("submitit", "slurm")

#: the folder of the run where submitit keeps its job files and the jobs' logs
JOBS_DIR = "slurm"
#: seconds a job that ended is given for its result file to appear on the cluster's shared file
#: system (submitit waits as long); the local cluster writes to this machine's
RESULT_WAIT_SECONDS = {"slurm": 15.0, "local": 0.0}


class BatchesJob(submitit.helpers.Checkpointable):
    """One job of the array: its batches, one after another. Checkpointable's ``checkpoint``
    resubmits this same job when it is preempted or timed out.

    submitit requeues from its signal handler, by ``sys.exit`` in the middle of whatever runs, and
    a trial takes a ``SystemExit`` from its own code for a failure of that trial. So while the
    batches run, the preemption signal stops the trial the way a real Ctrl-C does (which a trial
    passes on), and submitit's handler requeues once the trial is out of the way.
    """

    def __init__(self, batches: Sequence[TrialBatch], threads: int) -> None:
        self.batches = tuple(batches)
        self.threads = threads

    def __call__(self) -> dict[str, str]:
        preemption = submitit.JobEnvironment._usr_sig()
        requeue = signal.getsignal(preemption)
        preempted = []

        def stop_for_requeue(signum: int, frame: FrameType | None) -> None:
            preempted.append(signum)
            interrupt(signum, frame)

        install_interrupt_flag()
        interrupt = signal.getsignal(signal.SIGINT)
        signal.signal(preemption, stop_for_requeue)
        try:
            return run_batches_remotely(self.batches, self.threads)
        except KeyboardInterrupt:
            if preempted and callable(requeue):
                requeue(preemption, None)  # checkpoints this job, requeues it and exits
            raise


class SlurmExecutor:
    """Submits the batches as one job array and watches the run folder until every job has ended."""

    def __init__(self, settings: ExecutionSettings, run_dir: Path) -> None:
        self.settings: SlurmSettings = settings.slurm
        self.run_dir = Path(run_dir)
        self.submitit = submitit_executor(self.settings, self.run_dir / JOBS_DIR)

    def run(self, batches: Sequence[TrialBatch], progress: TrialProgress, trial_done: TrialDone) -> None:
        check_gpus_granted(batches, self.settings.gpus_per_job, "execution.slurm.gpus_per_job")
        size = self.settings.batches_per_job
        groups = [tuple(batches[start : start + size]) for start in range(0, len(batches), size)]
        watch = RecordWatch(RunStore(self.run_dir), batches, trial_done)
        self.submitit.update_parameters(name=f"genbench-{batches[0].suite_name}")
        jobs = self.submitit.submit_array([BatchesJob(group, self.settings.cpus_per_job) for group in groups])
        running = list(zip(jobs, groups, strict=True))
        #: job id -> when the job was first seen ended without its result file
        ended_at: dict[str, float] = {}
        try:
            while running:
                finished = [(job, group) for job, group in running if self.has_ended(job, ended_at)]
                watch.poll()
                for job, group in finished:
                    collect(job, group, watch)
                running = [entry for entry in running if entry not in finished]
                if running:
                    time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            for job, _ in running:
                job.cancel(check=False)
            raise

    def has_ended(self, job: submitit.Job, ended_at: dict[str, float]) -> bool:
        """Whether the job is over and its result, if it wrote one, can be read. A job that ended
        without a result file is given ``RESULT_WAIT_SECONDS`` for the file to show up (submitit's
        own wait, in ``job.exception()``, would hold up the watch of every other job)."""
        if not job.done():
            return False
        if job.paths.result_pickle.exists():
            return True
        first_seen = ended_at.setdefault(job.job_id, time.monotonic())
        return time.monotonic() - first_seen >= RESULT_WAIT_SECONDS[self.settings.cluster]


def submitit_executor(settings: SlurmSettings, folder: Path) -> submitit.AutoExecutor:
    """submitit's executor with the settings' job parameters (submitit writes them into sbatch)."""
    try:
        executor = submitit.AutoExecutor(
            folder=folder,
            cluster=settings.cluster,
            slurm_max_num_timeout=settings.max_requeues,
            local_max_num_timeout=settings.max_requeues,
        )
    except RuntimeError as error:
        # submitit looks for srun on this machine
        raise GenbenchError(
            f"cannot submit SLURM jobs from this machine ({error}); run genbench on the cluster's login "
            "node, or set execution.slurm.cluster: local to run the jobs here"
        ) from None
    executor.update_parameters(
        timeout_min=settings.time_min,
        nodes=1,
        tasks_per_node=1,
        gpus_per_node=settings.gpus_per_job,
        cpus_per_task=settings.cpus_per_job,
        slurm_array_parallelism=settings.array_parallelism,
        slurm_setup=settings.setup,
        slurm_additional_parameters=settings.sbatch,
    )
    # unset: the cluster's defaults, not ours
    if settings.mem_gb is not None:
        executor.update_parameters(mem_gb=settings.mem_gb)
    if settings.partition is not None:
        executor.update_parameters(slurm_partition=settings.partition)
    return executor


def collect(job: submitit.Job, group: Sequence[TrialBatch], watch: RecordWatch) -> None:
    """Report an ended job's trials: from its result, or as failed where it recorded none."""
    if job.paths.result_pickle.exists():
        error = job.exception()
        if error is None:
            watch.job_returned(job.result())
            return
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    else:
        reason = "it ended without a result: killed, cancelled or out of memory"
    cause = (
        f"SlurmJobEnded: job {job.job_id} ended ({job.state}) without recording this trial ({reason})\n"
        f"end of its error log ({job.paths.stderr}):\n{error_tail(job.stderr())}"
    )
    watch.job_failed((trial.id for batch in group for trial in batch.trials), cause)
