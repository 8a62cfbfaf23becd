"""Hand-built run folders, written through the real store without training, with a typed run.json.

Two kinds: records with chosen final metric values for the baseline and check tests
(``write_records_run``, ``cells_run``), so every expected verdict can be worked out by hand; and
``HandTrial``s with curves, mode sets and samples for the report tests (``write_trials_run``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genbench.records import CurvePoint, ModeSet, RunInfo, RunSettings, TrialRecord, TrialStatus
from genbench.settings import CheckSettings, ReportSettings
from genbench.store import RunStore

MODES_PROTOCOL = {"metric": "modes", "metric_version": 1, "feature_space": "raw", "eval_samples": 1000}
ENVIRONMENT = {"genbench": "0.1.0", "torch": "2.4.0", "device": "cpu: cpu", "python": "3.11"}
#: fewer bootstrap resamples than the default keep the report tests fast; the numbers stay seeded
FAST_REPORT = {"bootstrap_resamples": 200}
RING8 = np.array([[2 * np.cos(a), 2 * np.sin(a)] for a in np.arange(8) * 2 * np.pi / 8])


def hand_run_info(
    suite: str,
    trial_ids: list[str],
    grid_keys: list[str],
    settings: RunSettings,
    suite_hash: str = "0123456789abcdef",
) -> RunInfo:
    return RunInfo(
        suite=suite,
        description=f"A hand-built run ({suite}).",
        suite_hash=suite_hash,
        suite_path=f"{suite}.yaml",
        grid_keys=grid_keys,
        trial_ids=trial_ids,
        settings=settings,
        device="cpu",
        genbench_version="0.1.0",
        environment=ENVIRONMENT,
        created_at="2024-01-01T00:00:00+00:00",
    )


def fake_record(
    grid: dict[str, str],
    seed: int,
    metrics: dict[str, float],
    status: TrialStatus = TrialStatus.FINISHED,
    protocol: dict[str, Any] = MODES_PROTOCOL,
) -> TrialRecord:
    finished = status == TrialStatus.FINISHED
    name = "-".join(f"{key}={label}" for key, label in grid.items())
    return TrialRecord(
        id=f"{name}-seed{seed}",
        suite="unit",
        status=status,
        spec={"seed": seed, **grid},
        grid={**grid, "seed": str(seed)},
        grid_columns={},
        metrics=metrics if finished else {},
        protocols={metric: protocol for metric in metrics} if finished else {},
        diverged_step=None if finished else 10,
        environment=ENVIRONMENT,
        started_at="2024-01-01T00:00:00+00:00",
        finished_at="2024-01-01T00:01:00+00:00",
    )


def write_records_run(
    run_dir: Path,
    records: list[TrialRecord],
    grid_keys: tuple[str, ...] = ("loss", "seed"),
    check: dict[str, Any] | None = None,
    suite_hash: str = "hash-1",
) -> Path:
    store = RunStore(run_dir)
    settings = RunSettings(check=CheckSettings.model_validate(check or {}))
    info = hand_run_info("unit", [record.id for record in records], list(grid_keys), settings, suite_hash)
    store.write_run_info("name: unit\n", info)
    for record in records:
        store.write_trial(record)
    return run_dir


def cells_run(
    run_dir: Path,
    values: dict[str, list[float]],
    metric: str = "modes_covered",
    statuses: dict[str, list[TrialStatus]] | None = None,
    **options: Any,
) -> Path:
    """A run with one cell per loss; each cell has one seed per value of ``metric``."""
    records = []
    for loss, cell_values in values.items():
        cell_statuses = (statuses or {}).get(loss, [TrialStatus.FINISHED] * len(cell_values))
        for seed, (value, status) in enumerate(zip(cell_values, cell_statuses, strict=True)):
            records.append(fake_record({"loss": loss}, seed, {metric: value}, status))
    return write_records_run(run_dir, records, **options)


@dataclass
class HandTrial:
    """One trial as a report sees it; curves are {metric: [values at steps 100, 200, ...]}."""

    id: str
    grid: dict[str, str]
    seed: int
    status: TrialStatus = TrialStatus.FINISHED
    metrics: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    covered_modes: list[list[int]] = field(default_factory=list)
    diverged_step: int | None = None
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    protocol: dict[str, Any] = field(default_factory=dict)
    samples: np.ndarray | None = None
    mode_centres: np.ndarray | None = None
    steps: int = 1000


def record_of(trial: HandTrial, suite: str) -> TrialRecord:
    return TrialRecord(
        id=trial.id,
        suite=suite,
        status=trial.status,
        spec={"seed": trial.seed, "train": {"steps": trial.steps}},
        grid={**trial.grid, "seed": str(trial.seed)},
        grid_columns={},
        metrics=trial.metrics,
        protocols={key: trial.protocol for key in trial.metrics},
        diverged_step=trial.diverged_step,
        error=trial.error,
        timings=trial.timings,
        environment={"torch": "2.x", "device": "cpu: test"},
        covered_modes=[
            ModeSet(step=100 * (i + 1), modes=modes) for i, modes in enumerate(trial.covered_modes)
        ],
        started_at="2024-01-01T00:00:00+00:00",
        finished_at="2024-01-01T00:01:00+00:00",
    )


def write_trials_run(
    run_dir: Path,
    trials: list[HandTrial],
    grid_keys: list[str],
    report: dict[str, Any] | None = None,
    missing: tuple[str, ...] = (),
    suite: str = "hand",
) -> Path:
    """Write run.json (listing ``missing`` ids that get no record) and every trial's files."""
    store = RunStore(run_dir)
    settings = RunSettings(report=ReportSettings.model_validate({**FAST_REPORT, **(report or {})}))
    trial_ids = [trial.id for trial in trials] + list(missing)
    store.write_run_info(f"name: {suite}\n", hand_run_info(suite, trial_ids, [*grid_keys, "seed"], settings))
    for trial in trials:
        points = [
            CurvePoint(step=100 * (i + 1), metric=metric, value=value)
            for metric, values in trial.curves.items()
            for i, value in enumerate(values)
        ]
        store.write_trial(record_of(trial, suite), points, trial.samples, trial.mode_centres)
    return run_dir
