"""What a report reads from a run folder: trials with their group labels, curves, and what is missing.

Everything comes from the store (``run.json`` and the trial records), so a report can be rebuilt
without a GPU. The group of a trial is its labels on the group keys: the suite's grid keys other
than ``seed`` unless ``--group-by`` or the suite's ``report.group_by`` names others (any column of
the results table, e.g. ``optimizer.name`` to pool learning rates), named as
``genbench.replicates.group_label`` names a group. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from genbench.catalog import HIGHER_IS_BETTER, OUTPUTS
from genbench.errors import GenbenchError
from genbench.metrics.keys import KEY_MODES_COVERED
from genbench.records import RunInfo, TrialRecord
from genbench.replicates import SEED_KEY, configuration_keys, group_label
from genbench.settings import ReportSettings, SuccessCriterion
from genbench.store import DamagedFile, RunStore, results_row

GROUP = "group"


@dataclass(frozen=True)
class Success:
    """The resolved success criterion: ``metric`` must reach a per-trial threshold."""

    metric: str
    higher_is_better: bool
    #: trial id -> threshold; trials without one (no mode centres stored) have no success value
    thresholds: dict[str, float]
    description: str

    def reached(self, value: float, threshold: float) -> bool:
        return value >= threshold if self.higher_is_better else value <= threshold


@dataclass(frozen=True)
class ReportData:
    run_dir: Path
    run_info: RunInfo
    settings: ReportSettings
    #: headline metric of figures and comparisons, and its better direction
    metric: str
    higher_is_better: bool
    group_keys: list[str]
    #: group labels in the suite's trial order
    groups: list[str]
    #: one row per recorded trial: trial, group, group keys, seed, status, final metrics, timings
    trials: pd.DataFrame
    #: long curves: trial, group, group keys, seed, status, step, metric, value
    curves: pd.DataFrame
    records: dict[str, TrialRecord]
    #: final metric names present in at least one record, in record order
    metrics: list[str]
    #: trial ids listed in run.json that have no record yet
    missing: list[str]
    #: trial id -> its damaged file, for trials left out of the report because a file is damaged
    damaged: dict[str, DamagedFile]
    success: Success | None
    #: why the headline metric is not the suite's report.metric, when it is not
    metric_note: str | None = None

    @property
    def store(self) -> RunStore:
        return RunStore(self.run_dir)


def load_report_data(
    run_dir: Path | str, group_by: list[str] | None = None, metric: str | None = None
) -> ReportData:
    """Read the run folder; ``group_by`` and ``metric`` override the suite's report settings.

    Trials with a damaged file are left out and listed in ``damaged``: a report of the rest, which
    says so, is more use than none, and reading the run moves nothing.
    """
    store = RunStore(run_dir)
    run_info = store.run_info()
    settings = run_info.settings.report
    loaded = store.load_records()
    records = loaded.records
    trials = trials_frame(records, run_info.grid_keys)
    grid_keys = configuration_keys(run_info.grid_keys)
    group_keys = list(group_by or settings.group_by or grid_keys)
    check_group_keys(group_keys, grid_keys, records)
    trials = with_groups(trials, group_keys)
    metrics = list(dict.fromkeys(key for record in records for key in record.metrics))
    headline, metric_note = headline_metric(metric, settings.metric, metrics)
    recorded = {record.id for record in records}
    return ReportData(
        run_dir=Path(run_dir),
        run_info=run_info,
        settings=settings,
        metric=headline,
        higher_is_better=ranking_direction(headline, "--metric" if metric else "report.metric", metrics),
        group_keys=group_keys,
        groups=list(dict.fromkeys(trials[GROUP])) if len(trials) else [],
        trials=trials,
        curves=curves_frame(store, trials, group_keys),
        records={record.id: record for record in records},
        metrics=metrics,
        missing=[tid for tid in run_info.trial_ids if tid not in recorded and tid not in loaded.damaged],
        damaged=loaded.damaged,
        success=resolve_success(settings.success, store, records, metrics),
        metric_note=metric_note,
    )


def headline_metric(asked: str | None, configured: str, metrics: list[str]) -> tuple[str, str | None]:
    """(headline metric, a note when the suite's metric was replaced).

    A metric asked for on the command line must exist. The suite's ``report.metric`` (by default
    ``modes_covered``) may not, in a suite whose data has no known modes: the report then falls back
    to the first final metric with a declared direction and says so, rather than failing after a
    whole run has trained.
    """
    if asked is not None:
        if metrics and asked not in metrics:
            raise GenbenchError(
                f"metric '{asked}' is not among the run's final metrics; use --metric with one of: "
                + ", ".join(metrics)
            )
        return asked, None
    if not metrics or configured in metrics:
        return configured, None
    fallback = next((key for key in metrics if key in HIGHER_IS_BETTER), metrics[0])
    return (
        fallback,
        f"report.metric '{configured}' is not among the final metrics; showing {fallback} instead",
    )


def ranking_direction(metric: str, setting: str, metrics: list[str]) -> bool:
    """Whether higher values of ``metric`` are better. Groups, seeds and successes are ranked by
    it, so a metric without a declared direction is an error rather than a guess."""
    if metric in HIGHER_IS_BETTER:
        return HIGHER_IS_BETTER[metric]
    problem = "has no better direction" if metric in OUTPUTS else "is not a result key genbench declares"
    choices = [key for key in metrics if key in HIGHER_IS_BETTER] or list(HIGHER_IS_BETTER)
    raise GenbenchError(
        f"{setting} '{metric}' {problem}, so a report cannot rank by it; choose one of: {', '.join(choices)}"
    )


def trials_frame(records: list[TrialRecord], grid_keys: list[str]) -> pd.DataFrame:
    """The store's results rows, with the spec's seed (a number; its grid label is text)."""
    if not records:
        return pd.DataFrame(columns=["trial", SEED_KEY, "status"])
    frame = pd.DataFrame([results_row(record, grid_keys) for record in records])
    frame[SEED_KEY] = [record.spec.get(SEED_KEY) for record in records]
    return frame


def check_group_keys(group_keys: list[str], grid_keys: list[str], records: list[TrialRecord]) -> None:
    """Groups are defined by grid keys or by the flattened grid columns (e.g. ``optimizer.name``)."""
    known = list(dict.fromkeys([*grid_keys, *(key for record in records for key in record.grid_columns)]))
    unknown = [key for key in group_keys if key not in known]
    if unknown and records:
        raise GenbenchError(
            f"unknown group key {', '.join(map(repr, unknown))}; --group-by takes one of: {', '.join(known)}"
        )


def with_groups(trials: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """``trials`` with its group keys as text (missing values as '-') and the group label."""
    if trials.empty:
        return pd.DataFrame(columns=list(dict.fromkeys([*trials.columns, *group_keys, GROUP])))
    trials = trials.copy()
    for key in group_keys:
        trials[key] = trials[key].astype(object).where(trials[key].notna(), "-").astype(str)
    trials[GROUP] = [group_label(labels) for labels in trials[group_keys].to_numpy().tolist()]
    return trials


def curves_frame(store: RunStore, trials: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """Every trial's curves joined with its group, group keys, seed and status."""
    labels = trials[list(dict.fromkeys(["trial", GROUP, *group_keys, SEED_KEY, "status"]))]
    frames = []
    for trial_id in trials["trial"]:
        curves = store.curves(trial_id)
        if not curves.empty:
            frames.append(curves.assign(trial=trial_id))
    if not frames:
        return pd.DataFrame(columns=[*labels.columns, "step", "metric", "value"])
    return pd.concat(frames, ignore_index=True).merge(labels, on="trial", how="left")


def resolve_success(
    criterion: SuccessCriterion | None, store: RunStore, records: list[TrialRecord], metrics: list[str]
) -> Success | None:
    """The suite's criterion; without one, "all true modes covered" where the modes are known."""
    if criterion is not None:
        better = ranking_direction(criterion.metric, "report.success.metric", metrics)
        sign = ">=" if better else "<="
        return Success(
            metric=criterion.metric,
            higher_is_better=better,
            thresholds={record.id: criterion.threshold for record in records},
            description=f"{criterion.metric} {sign} {criterion.threshold:g} (set by the suite)",
        )
    if not any(KEY_MODES_COVERED in record.metrics for record in records):
        return None
    thresholds = {
        record.id: float(len(centres))
        for record in records
        if (centres := store.mode_centres(record.id)) is not None
    }
    if not thresholds:
        return None
    return Success(
        metric=KEY_MODES_COVERED,
        higher_is_better=True,
        thresholds=thresholds,
        description="every true mode covered, i.e. modes_covered equals the dataset's number of modes "
        "(the default where modes are known and the suite sets no report.success)",
    )
