"""A suite's ``execution:`` section: which executor runs its trials, and that executor's settings.

How a study runs (here, on a SLURM cluster, on a Ray cluster) is not what it runs: the section
changes neither trial ids nor the run folder (``Suite.content_hash`` ignores it), so a run begun
with one executor can be resumed with another. ``genbench run --executor`` and ``--ray-address``
override it. Torch-free: the suite loader validates it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from genbench.errors import GenbenchError
from genbench.settings import StrictModel


class SlurmSettings(StrictModel):
    """One SLURM job-array task per ensemble (or per few ensembles), through submitit."""

    cluster: Literal["slurm", "local"] = Field(
        "slurm",
        description="slurm: submit to the cluster with sbatch; local: submitit's local executor, which "
        "runs each job as a process on this machine through the same code path (for tests and debugging)",
    )
    partition: str | None = Field(None, description="SLURM partition; none: the cluster's default")
    gpus_per_job: int = Field(0, ge=0, description="GPUs per job (an ensemble trains on one GPU)")
    cpus_per_job: int = Field(
        1, ge=1, description="CPU cores per job; also the job's torch threads (a GPU job needs few)"
    )
    mem_gb: float | None = Field(
        None, gt=0, description="memory per job in GB; none: the partition's default"
    )
    time_min: int = Field(
        60,
        ge=1,
        description="wall-clock limit per job, minutes; a job that reaches it is requeued and goes on from "
        "its trials' saved state (train.checkpoint_every)",
    )
    array_parallelism: int = Field(
        64, ge=1, description="at most this many jobs of the array run at once (sbatch --array=...%N)"
    )
    batches_per_job: int = Field(
        1,
        ge=1,
        description="ensembles (or lone trials) one job runs one after another: more per job means fewer, "
        "longer jobs, for clusters that limit array sizes (MaxArraySize) or charge per job start",
    )
    max_requeues: int = Field(
        3,
        ge=0,
        description="times a preempted or timed-out job is requeued before its trials count as failed",
    )
    setup: list[str] = Field(
        default_factory=list,
        description="shell lines each job runs before Python starts "
        "(module load ..., source venv/bin/activate)",
    )
    sbatch: dict[str, str | int] = Field(
        default_factory=dict,
        description="further sbatch options by name, e.g. {account: myproject, qos: high, constraint: a100}",
    )


class RaySettings(StrictModel):
    """Each ensemble (or lone trial) a Ray task with its CPU and GPU needs."""

    address: str | None = Field(
        None,
        description="auto: the Ray cluster this machine belongs to; HOST:PORT or ray://HOST:PORT: that "
        "cluster; none: start a single-node Ray on this machine for the run and stop it after",
    )
    cpus_per_task: float = Field(
        1.0, gt=0, description="CPU cores Ray reserves per task (also its torch threads)"
    )
    gpus_per_task: float = Field(
        0.0, ge=0, description="GPUs Ray reserves per task; a fraction packs several ensembles on one GPU"
    )
    max_retries: int = Field(
        3,
        ge=0,
        description="times Ray runs a task again whose worker process or node died; the rerun skips the "
        "trials already recorded and goes on from saved state (train.checkpoint_every)",
    )


class ExecutionSettings(StrictModel):
    """Where the trials run. The executor names are those of ``genbench.runner.executors.EXECUTORS``."""

    executor: str = Field("local", description="local, slurm or ray (genbench run --executor overrides it)")
    slurm: SlurmSettings = Field(default_factory=SlurmSettings, description="settings of the slurm executor")
    ray: RaySettings = Field(default_factory=RaySettings, description="settings of the ray executor")

    @field_validator("executor")
    @classmethod
    def known_executor(cls, name: str) -> str:
        from genbench.runner.executors import EXECUTORS

        if name not in EXECUTORS:
            raise ValueError(EXECUTORS.unknown_message(name))
        return name

    def overridden(self, executor: str | None, ray_address: str | None) -> ExecutionSettings:
        """These settings with the command line's choices, where it made any."""
        from genbench.runner.executors import EXECUTORS

        data = self.model_dump()
        if executor is not None:
            if executor not in EXECUTORS:
                raise GenbenchError(f"--executor: {EXECUTORS.unknown_message(executor)}")
            data["executor"] = executor
        if ray_address is not None:
            data["ray"]["address"] = ray_address
        return ExecutionSettings.model_validate(data)
