"""Baseline files: what a run measured, cell by cell, frozen for later runs to be checked against.

A *cell* is one point of a suite's grid with the seed left out (``loss=hinge|optimizer=adam(...)``);
its seeds are the replicates that tell signal from noise. For each cell the baseline keeps every
seed's raw values of the checked metrics (as MLPerf's reference convergence points keep raw runs,
so any later rule can be applied to them), their summary, and the protocol each value was computed
under; for each metric, the direction in which it is better and the tolerance the check allows.

Besides the chosen metrics every cell carries ``finished``: 1 for a seed whose trial finished, 0
for one that diverged or failed. Diverged and failed trials have no final metric values, so their
seeds are missing from the metrics and counted by ``finished`` instead.

The same model describes a run about to be checked (``summarize_run``), so a check compares two
``Baseline``s. The file is JSON with sorted keys and a fixed indent: updating it is a reviewed
change, and its diff should read well. Torch-free.
"""

from __future__ import annotations

import json
import math
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from genbench.errors import GenbenchError
from genbench.metrics.keys import HIGHER_IS_BETTER
from genbench.records import TrialRecord, TrialStatus
from genbench.settings import CheckSettings, StrictModel, Tolerance
from genbench.store import RunStore, write_json_atomically

FORMAT_VERSION = 1
SEED_KEY = "seed"
#: the per-seed 0/1 outcome "this trial finished" (neither diverged nor failed); higher is better
KEY_FINISHED = "finished"
#: the cell key of a suite whose grid varies nothing but the seed
WHOLE_SUITE_CELL = "(all)"
BASELINES_DIR = Path("baselines")


def higher_is_better(metric: str) -> bool:
    if metric == KEY_FINISHED:
        return True
    if metric not in HIGHER_IS_BETTER:
        raise GenbenchError(f"metric '{metric}' has no declared better direction and cannot be checked")
    return HIGHER_IS_BETTER[metric]


class Summary(StrictModel):
    """n, mean and sample standard deviation (ddof=1) of one cell's values of one metric."""

    n: int
    mean: float | None
    std: float | None

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        return cls(
            n=len(values),
            mean=statistics.fmean(values) if values else None,
            std=statistics.stdev(values) if len(values) >= 2 else None,
        )


class MetricSummary(Summary):
    #: what the values depend on (sample counts, reference set, feature space, metric version)
    protocol: dict[str, Any] = Field(default_factory=dict)


class SeedResult(StrictModel):
    seed: int
    trial: str
    status: TrialStatus
    #: the checked metrics' final values; empty when the trial diverged or failed
    values: dict[str, float]


class Cell(StrictModel):
    grid: dict[str, str]
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
    tolerance: Tolerance = Tolerance()


class Baseline(StrictModel):
    format: Literal[1] = FORMAT_VERSION
    suite: str
    suite_hash: str
    created_at: str
    #: where the values were measured: genbench and torch versions, device, platform
    environment: dict[str, str]
    alpha: float
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
                if not same_summary(summary, Summary.of(cell.values(metric))):
                    raise ValueError(f"cell '{key}', metric '{metric}': summary and values disagree")
        return self


def same_summary(stored: Summary, derived: Summary) -> bool:
    def close(a: float | None, b: float | None) -> bool:
        return a is None if b is None else a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)

    return stored.n == derived.n and close(stored.mean, derived.mean) and close(stored.std, derived.std)


def cell_key(grid: dict[str, str], grid_keys: list[str]) -> str:
    """``key=label`` for every grid key except the seed, in the suite's order, joined by ``|``."""
    parts = [f"{key}={grid[key]}" for key in grid_keys if key != SEED_KEY]
    return "|".join(parts) or WHOLE_SUITE_CELL


def summarize_run(run_dir: Path | str, metrics: list[str] | None = None) -> Baseline:
    """Group a finished run's trials into cells and summarize ``metrics`` (default: the suite's
    ``check.metrics``, else every final metric with a declared direction) plus ``finished``."""
    store = RunStore(run_dir)
    info = store.run_info()
    records = store.records()
    missing = set(info.get("trial_ids", [])) - {record.id for record in records}
    if missing:
        raise GenbenchError(
            f"{run_dir}: {len(missing)} of {len(info['trial_ids'])} trials have no record; "
            "finish the run first (genbench run resumes where it stopped)"
        )
    if not records:
        raise GenbenchError(f"{run_dir}: the run has no trial records")
    settings = CheckSettings.model_validate(info.get("settings", {}).get("check", {}))
    chosen = [m for m in (metrics or settings.metrics or default_metrics(records)) if m != KEY_FINISHED]
    rules = {
        metric: MetricRule(
            higher_is_better=higher_is_better(metric),
            tolerance=settings.tolerances.get(metric, Tolerance()),
        )
        for metric in [KEY_FINISHED, *chosen]
    }
    grid_keys = list(info.get("grid_keys", []))
    grouped: dict[str, list[TrialRecord]] = {}
    for record in records:
        grouped.setdefault(cell_key(record.grid, grid_keys), []).append(record)
    first = records[0]
    return Baseline(
        suite=info["suite"],
        suite_hash=info["suite_hash"],
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        environment=first.environment,
        alpha=settings.alpha,
        grid_keys=grid_keys,
        metrics=rules,
        cells={key: summarize_cell(key, members, chosen) for key, members in grouped.items()},
    )


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
            protocol=cell_protocol(key, records, metric) if metric != KEY_FINISHED else {},
        )
        for metric in [KEY_FINISHED, *metrics]
    }
    grid = {name: label for name, label in records[0].grid.items() if name != SEED_KEY}
    return Cell(grid=grid, seeds=seeds, metrics=summaries)


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
    return SeedResult(seed=record.spec[SEED_KEY], trial=record.id, status=record.status, values=values)


def cell_protocol(key: str, records: list[TrialRecord], metric: str) -> dict[str, Any]:
    """The one protocol under which all finished seeds of the cell computed ``metric``."""
    protocols = {
        json.dumps(record.protocols.get(metric, {}), sort_keys=True): record.protocols.get(metric, {})
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
    try:
        return Baseline.model_validate_json(path.read_text())
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in error.errors()[:5]
        )
        raise GenbenchError(f"{path} is not a valid baseline ({problems}); {regenerate}") from None
