"""Baseline files: what a run measured, cell by cell, frozen for later runs to be checked against.

A *cell* is one point of a suite's grid with the seed left out (``loss=hinge|optimizer=adam(...)``,
named by ``genbench.replicates.cell_key``); its seeds are the replicates that tell signal from
noise. For each cell the baseline keeps every seed's raw values of the checked metrics (as MLPerf's
reference convergence points keep raw runs, so any later rule can be applied to them), their summary
(``genbench.replicates.Summary``), and the protocol each value was computed under; for each metric,
the direction in which it is better and the tolerance the check allows.

Besides the chosen metrics every cell carries ``finished``: 1 for a seed whose trial finished, 0
for one that diverged or failed. Diverged and failed trials have no final metric values, so their
seeds are missing from the metrics and counted by ``finished`` instead.

A baseline pins the *protocol* of every cell (``genbench.check.protocol``: the trial spec without
seed, subject and file locations) and its seeds, not the identity of what was measured: each seed
records its subject (the sha256 of pretrained weights) so a check can say what it compared, but new
weights are checked against the baseline, not refused.

Every number in the file must be finite and in range (alpha in (0, 1), tolerances >= 0, values and
summaries finite and consistent): a NaN compares false with everything, so one NaN alpha or
tolerance would quietly turn the check off.

The same model describes a run about to be checked (``summarize_run``), so a check compares two
``Baseline``s. The file is JSON with sorted keys and a fixed indent: updating it is a reviewed
change, and its diff should read well. Torch-free.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, FiniteFloat, ValidationError, model_validator

from genbench.atomic import write_json_atomically
from genbench.catalog import HIGHER_IS_BETTER
from genbench.check.protocol import spec_protocol, weights_sha256
from genbench.clock import utc_now
from genbench.errors import GenbenchError
from genbench.records import TrialRecord, TrialStatus
from genbench.replicates import SEED_KEY, Summary, cell_key, protocol_key
from genbench.settings import StrictModel, Tolerance
from genbench.store import RunStore

#: 2: cells pin their protocol and seeds record their subject, instead of one hash of the suite
FORMAT_VERSION = 2
#: the per-seed 0/1 outcome "this trial finished" (neither diverged nor failed); higher is better
KEY_FINISHED = "finished"
BASELINES_DIR = Path("baselines")


def higher_is_better(metric: str) -> bool:
    if metric == KEY_FINISHED:
        return True
    if metric not in HIGHER_IS_BETTER:
        raise GenbenchError(f"metric '{metric}' has no declared better direction and cannot be checked")
    return HIGHER_IS_BETTER[metric]


class MetricSummary(Summary):
    #: what the values depend on (sample counts, reference set, feature space, metric version)
    protocol: dict[str, Any] = Field(default_factory=dict)


class SeedResult(StrictModel):
    seed: int
    trial: str
    status: TrialStatus
    #: the subject measured: the sha256 of the pretrained weights; None for a model the trial trained
    weights_sha256: str | None
    #: the checked metrics' final values; empty when the trial diverged or failed
    values: dict[str, FiniteFloat]


class Cell(StrictModel):
    grid: dict[str, str]
    #: the trial spec every seed of the cell shares, without seed, subject and file locations
    protocol: dict[str, Any]
    seeds: list[SeedResult]
    metrics: dict[str, MetricSummary]

    def values(self, metric: str) -> list[float]:
        return seed_values(self.seeds, metric)


def seed_values(seeds: list[SeedResult], metric: str) -> list[float]:
    """The per-seed values of ``metric`` (for ``finished``: 1.0 or 0.0 for every seed)."""
    if metric == KEY_FINISHED:
        return [float(seed.status == TrialStatus.FINISHED) for seed in seeds]
    return [seed.values[metric] for seed in seeds if metric in seed.values]


class MetricRule(StrictModel):
    higher_is_better: bool
    #: finite and >= 0 by ``Tolerance`` itself: a NaN band compares false with every change
    tolerance: Tolerance = Tolerance()


class Baseline(StrictModel):
    format: Literal[2] = FORMAT_VERSION
    suite: str
    created_at: str
    #: where the values were measured: genbench and torch versions, device, platform
    environment: dict[str, str]
    alpha: float = Field(gt=0, lt=1, allow_inf_nan=False)
    grid_keys: list[str]
    metrics: dict[str, MetricRule]
    cells: dict[str, Cell]

    @model_validator(mode="after")
    def summaries_match_values(self) -> Baseline:
        """A hand edit or a broken merge must not pass silently: the summaries and the cell keys
        are derived data, so they have to agree with the raw values they were derived from."""
        for key, cell in self.cells.items():
            if key != cell_key(cell.grid, self.grid_keys):
                raise ValueError(f"cell '{key}' does not match its grid labels {cell.grid}")
            if set(cell.metrics) != set(self.metrics):
                raise ValueError(f"cell '{key}' has {sorted(cell.metrics)}, not {sorted(self.metrics)}")
            for metric, summary in cell.metrics.items():
                try:
                    derived = Summary.of(cell.values(metric))
                except OverflowError:
                    raise ValueError(f"cell '{key}', metric '{metric}': values too large to sum") from None
                if not same_summary(summary, derived):
                    raise ValueError(f"cell '{key}', metric '{metric}': summary and values disagree")
        return self


def same_summary(stored: Summary, derived: Summary) -> bool:
    def close(a: float | None, b: float | None) -> bool:
        return a is None if b is None else a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)

    return stored.n == derived.n and close(stored.mean, derived.mean) and close(stored.std, derived.std)


def summarize_run(run_dir: Path | str, metrics: list[str] | None = None) -> Baseline:
    """Group a finished run's trials into cells and summarize ``metrics`` (default: the suite's
    ``check.metrics``, else every final metric with a declared direction) plus ``finished``."""
    store = RunStore(run_dir)
    info = store.run_info()
    records = store.records()
    missing = set(info.trial_ids) - {record.id for record in records}
    if missing:
        raise GenbenchError(
            f"{run_dir}: {len(missing)} of {len(info.trial_ids)} trials have no record; "
            "finish the run first (genbench run resumes where it stopped)"
        )
    if not records:
        raise GenbenchError(f"{run_dir}: the run has no trial records")
    if info.stale_reused:
        raise GenbenchError(
            f"{run_dir}: {len(info.stale_reused)} trials were kept from other code (run with "
            "--reuse-stale), so the run mixes results of two codes; run the suite again without it"
        )
    settings = info.settings.check
    chosen = [m for m in (metrics or settings.metrics or default_metrics(records)) if m != KEY_FINISHED]
    rules = {
        metric: {
            "higher_is_better": higher_is_better(metric),
            "tolerance": settings.tolerances.get(metric, Tolerance()),
        }
        for metric in [KEY_FINISHED, *chosen]
    }
    grid_keys = info.grid_keys
    grouped: dict[str, list[TrialRecord]] = {}
    for record in records:
        grouped.setdefault(cell_key(record.grid, grid_keys), []).append(record)
    first = records[0]
    cells = {key: summarize_cell(key, members, chosen) for key, members in grouped.items()}
    try:
        return Baseline(
            suite=info.suite,
            created_at=utc_now(),
            environment=first.environment,
            alpha=settings.alpha,
            grid_keys=grid_keys,
            metrics=rules,
            cells=cells,
        )
    except ValidationError as error:
        raise GenbenchError(f"{run_dir} cannot be summarized ({problems(error)})") from None


def default_metrics(records: list[TrialRecord]) -> list[str]:
    finished = [record for record in records if record.status == TrialStatus.FINISHED]
    if not finished:
        raise GenbenchError("no trial of the run finished, so there is no metric to choose; pass --metrics")
    return [metric for metric in finished[0].metrics if metric in HIGHER_IS_BETTER]


def summarize_cell(key: str, records: list[TrialRecord], metrics: list[str]) -> Cell:
    seeds = [seed_result(record, metrics) for record in sorted(records, key=lambda r: r.spec[SEED_KEY])]
    summaries = {
        metric: MetricSummary(
            **Summary.of(seed_values(seeds, metric)).model_dump(),
            protocol=metric_protocol(key, records, metric) if metric != KEY_FINISHED else {},
        )
        for metric in [KEY_FINISHED, *metrics]
    }
    grid = {name: label for name, label in records[0].grid.items() if name != SEED_KEY}
    return Cell(grid=grid, protocol=shared_protocol(key, records), seeds=seeds, metrics=summaries)


def shared_protocol(key: str, records: list[TrialRecord]) -> dict[str, Any]:
    """The protocol of the cell's seeds, which differ in nothing else (else their grid labels would)."""
    protocols = {protocol_key(spec_protocol(record.spec)) for record in records}
    if len(protocols) > 1:
        raise GenbenchError(
            f"cell '{key}': its trials differ in more than their seed and subject, though their grid "
            "labels are the same; give the differing values distinct labels in the suite"
        )
    return json.loads(protocols.pop())


def seed_result(record: TrialRecord, metrics: list[str]) -> SeedResult:
    if record.status != TrialStatus.FINISHED:
        values = {}
    else:
        absent = [metric for metric in metrics if metric not in record.metrics]
        if absent:
            raise GenbenchError(
                f"trial {record.id} ({record.grid}) has no final value of {', '.join(absent)}; "
                f"it has {', '.join(sorted(record.metrics))}. Add the metric to the suite or check others"
            )
        values = {metric: record.metrics[metric] for metric in metrics}
        not_finite = {metric: value for metric, value in values.items() if not math.isfinite(value)}
        if not_finite:
            # not a measurement: comparing it would pass or fail by accident (NaN compares false)
            listed = ", ".join(f"{metric} = {value}" for metric, value in not_finite.items())
            raise GenbenchError(
                f"trial {record.id} ({record.grid}) has a final value that is not a finite number: "
                f"{listed}; it cannot be summarized or compared. Look into the metric, or check others"
            )
    return SeedResult(
        seed=record.spec[SEED_KEY],
        trial=record.id,
        status=record.status,
        weights_sha256=weights_sha256(record.spec),
        values=values,
    )


def metric_protocol(key: str, records: list[TrialRecord], metric: str) -> dict[str, Any]:
    """The one protocol under which all finished seeds of the cell computed ``metric``."""
    protocols = {
        protocol_key(record.protocols.get(metric, {})): record.protocols.get(metric, {})
        for record in records
        if record.status == TrialStatus.FINISHED
    }
    if len(protocols) > 1:
        raise GenbenchError(f"cell '{key}': the seeds computed '{metric}' under different protocols")
    return next(iter(protocols.values()), {})


def write_baseline(
    run_dir: Path | str, out: Path | str | None = None, metrics: list[str] | None = None
) -> Path:
    """Summarize a run and write it as a baseline (default ``baselines/<suite>.json``)."""
    baseline = summarize_run(run_dir, metrics)
    path = Path(out) if out is not None else BASELINES_DIR / f"{baseline.suite}.json"
    write_json_atomically(path, baseline.model_dump(mode="json"))
    return path


def load_baseline(path: Path | str) -> Baseline:
    path = Path(path)
    regenerate = "write it with `genbench baseline RESULTS_DIR --out FILE`"
    if not path.is_file():
        raise GenbenchError(f"no baseline file at {path}; {regenerate}")
    text = path.read_text()
    try:
        stated = json.loads(text).get("format")
    except (ValueError, AttributeError):
        stated = None
    if type(stated) is int and stated < FORMAT_VERSION:
        raise GenbenchError(
            f"{path} is a baseline of format {stated}, written by an older genbench; this one reads "
            f"format {FORMAT_VERSION}. Run the suite again (`genbench run SUITE --out RESULTS_DIR`) and "
            f"{regenerate}"
        )
    try:
        return Baseline.model_validate_json(text)
    except ValidationError as error:
        raise GenbenchError(f"{path} is not a valid baseline ({problems(error)}); {regenerate}") from None


def problems(error: ValidationError) -> str:
    """The first few problems of a validation error, each with the dotted field it is in."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in error.errors()[:5]
    )
