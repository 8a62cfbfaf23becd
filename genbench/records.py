"""The record of one trial: what the runner hands to the store, and what reports read back.

A plain pydantic model, torch-free, so that ``report`` and ``check`` can load results on a machine
without a GPU. Curves (step, metric, value) travel beside it as rows and are stored as CSV.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict

from genbench.code_identity import CodeIdentity
from genbench.settings import CheckSettings, ReportSettings


class TrialStatus(str, Enum):
    FINISHED = "finished"
    DIVERGED = "diverged"
    FAILED = "failed"


#: statuses that a resumed run does not redo: a diverged trial diverges again (training is seeded),
#: while a failed one may have failed for a reason outside the trial (memory, a missing file).
DONE_STATUSES = (TrialStatus.FINISHED, TrialStatus.DIVERGED)


class ModeSet(BaseModel):
    """The true modes covered at one evaluation, kept so reports can measure mode hopping."""

    step: int
    modes: list[int]


class CurvePoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: int
    metric: str
    value: float


class EnsembleMembership(BaseModel):
    """How a trial was executed: as member ``member`` (from 0) of a vectorized ensemble of
    ``size`` trials trained together. An execution detail: the trial's id and results do not
    depend on it beyond float tolerance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    member: int
    size: int


class TrialRecord(BaseModel):
    """Everything known about one trial after it ran (or failed to)."""

    #: a NaN metric is written as NaN, not null, so the check can name it instead of the store
    #: calling the record damaged
    model_config = ConfigDict(ser_json_inf_nan="constants")

    id: str
    suite: str
    status: TrialStatus
    spec: dict[str, Any]
    grid: dict[str, str]
    grid_columns: dict[str, Any]
    metrics: dict[str, float] = {}
    #: per metric key, what its value depends on (sample counts, reference set, feature space,
    #: metric version): two values are comparable only when their protocols are equal
    protocols: dict[str, dict[str, Any]] = {}
    diverged_step: int | None = None
    error: str | None = None
    timings: dict[str, float] = {}
    environment: dict[str, str] = {}
    #: the code that computed the record; resume reuses it only under the same code (None: a
    #: record written before genbench recorded it, which is never reused)
    code: CodeIdentity | None = None
    covered_modes: list[ModeSet] = []
    #: the ensemble the trial trained in; None when it ran alone (or failed before training)
    ensemble: EnsembleMembership | None = None
    #: the steps at which the trial continued from a saved training state (``train.checkpoint_every``),
    #: in order; empty when it trained in one go. Its timings cover the last run only.
    resumed_at: list[int] = []
    #: how many times the run ran the trial to get this record: more than 1 when it failed and
    #: was run again (`genbench run --retries N`, genbench.runner.retries)
    attempts: int = 1
    started_at: str
    finished_at: str


class RunSettings(BaseModel):
    """The suite's settings for the stages after training, so they run from stored results alone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report: ReportSettings = ReportSettings()
    check: CheckSettings = CheckSettings()


class RunInfo(BaseModel):
    """``run.json``: what a run folder is a run of, written by the runner and read, through this
    model only, by reports and checks. Unknown keys are refused: a folder written by another
    genbench (or edited by hand) is named, not half-read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    suite: str
    description: str = ""
    #: hash of the suite's trial ids; names the default run folder
    suite_hash: str
    suite_path: str
    grid_keys: list[str]
    #: the suite's trials, in its order: a folder reused for an edited suite keeps other records
    trial_ids: list[str]
    settings: RunSettings = RunSettings()
    device: str
    genbench_version: str
    #: hash of genbench's source when the run was (last) started (genbench.code_identity)
    genbench_source: str | None = None
    #: trials whose records were computed by other code and kept by ``--reuse-stale``
    stale_reused: list[str] = []
    #: genbench, torch and Python versions and platform of the process that ran the suite (each
    #: record names the device its trial ran on)
    environment: dict[str, str] = {}
    created_at: str
