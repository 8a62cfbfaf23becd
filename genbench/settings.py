"""Suite-level settings for the stages after training: the report and the regression check.

They live in the suite file (keys ``report:`` and ``check:``) and are copied into the run's
``run.json``, so that ``genbench report`` and ``genbench check`` read them from stored results alone.
Also the helpers every parameter model of a suite shares: the base model, paths relative to the suite,
bounded echoes of user values in messages, the machine's memory. Torch-free.
"""

from __future__ import annotations

import os
import reprlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo

#: characters of a user's value that an error message repeats: a mistyped value is recognisable in
#: far fewer, and a value built from YAML aliases once made a 4 MB one-line message
SHOWN_CHARS = 200

_BOUNDED_REPR = reprlib.Repr()
# reprlib stops at these sizes before formatting the rest, so even a huge nested value is cheap to show
_BOUNDED_REPR.maxlevel = 4
_BOUNDED_REPR.maxlist = _BOUNDED_REPR.maxtuple = _BOUNDED_REPR.maxset = _BOUNDED_REPR.maxdict = 12
_BOUNDED_REPR.maxstring = _BOUNDED_REPR.maxother = SHOWN_CHARS


def short(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis where it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: Any) -> str:
    """``repr(value)`` for an error message, bounded in length and in the work of making it."""
    return short(_BOUNDED_REPR.repr(value))


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo in a suite must never be silently ignored. Numbers must be
    finite: an infinite learning rate would train to NaN and be recorded as a diverged trial, which
    reads as a scientific result."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class FieldProblem(ValueError):
    """Raised by a model validator about one field, so the suite's error can name that field's key
    (pydantic reports a model validator's error at the model)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field


def suite_relative(path: str, info: ValidationInfo) -> Path:
    """A path written in a suite, taken relative to the suite file's folder (the ``base_dir`` of
    the validation context) and made absolute, so a suite runs from any working directory."""
    base_dir = Path((info.context or {}).get("base_dir", "."))
    return (base_dir / Path(path).expanduser()).resolve()


def existing_file(path: str, info: ValidationInfo, what: str = "file") -> str:
    """``suite_relative`` for a file that must already exist (nothing is downloaded)."""
    resolved = suite_relative(path, info)
    if not is_file(resolved):
        raise ValueError(f"no {what} at {short(str(resolved))}")
    return str(resolved)


def is_file(path: Path) -> bool:
    """``path.is_file()``, False also for a name too long to look up (an OSError in pathlib)."""
    try:
        return path.is_file()
    except OSError:
        return False


def is_folder(path: Path) -> bool:
    """``path.is_dir()``, False also for a name too long to look up (an OSError in pathlib)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def physical_memory_bytes() -> int | None:
    """This machine's physical memory, or None where the system does not say (not POSIX)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


class SuccessCriterion(StrictModel):
    """A trial succeeds when ``metric`` reaches ``threshold`` (in the metric's better direction)."""

    metric: str = Field(description="final metric to test, e.g. modes_covered")
    threshold: float = Field(description="value to reach, e.g. 8 for all modes of ring8")


class ReportSettings(StrictModel):
    metric: str = Field("modes_covered", description="headline metric of figures and comparisons")
    group_by: list[str] | None = Field(
        None, description="columns that define a group; default: every grid key except seed"
    )
    reference: str | None = Field(
        None, description="label of the reference group for pairwise tests; default: the first group"
    )
    compare: list[str] = Field(
        default_factory=list,
        description="further metrics tested against the reference beside the headline metric (e.g. "
        "mode_kl): every test of the table is one Holm family",
    )
    success: SuccessCriterion | None = None
    heatmap: tuple[str, str] | None = Field(
        None, description="two grid keys for the heatmap axes; default: the first two grid keys"
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="level of every confidence interval")
    bootstrap_resamples: int = Field(
        2000, ge=100, description="resamples of each bootstrap interval (tables and figure bands)"
    )
    bootstrap_seed: int = Field(
        0, description="seed of every bootstrap, so the same results always give the same report"
    )
    alpha: float = Field(
        0.05, gt=0, lt=1, description="family-wise significance level of the pairwise comparisons"
    )
    tail_fraction: float = Field(
        0.5, gt=0, le=1, description="last part of training (share of evaluations) that oscillation reads"
    )
    rolling_window: int = Field(3, ge=2, description="evaluations in each rolling window of oscillation")


class Tolerance(StrictModel):
    """How much worse a metric may get before it can count as a regression."""

    relative: float | None = Field(None, ge=0, description="fraction of the baseline mean")
    absolute: float | None = Field(None, ge=0, description="in the metric's own units")


class CheckSettings(StrictModel):
    metrics: list[str] = Field(default_factory=list, description="metrics the regression check gates on")
    tolerances: dict[str, Tolerance] = Field(default_factory=dict)
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level of the one-sided test")
