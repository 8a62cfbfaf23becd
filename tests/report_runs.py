"""Hand-built run folders for the report tests, written through the store without training."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genbench.records import CurvePoint, ModeSet, TrialRecord, TrialStatus
from genbench.settings import CheckSettings, ReportSettings
from genbench.store import RunStore

#: fewer bootstrap resamples than the default keep the tests fast; the numbers stay seeded
FAST_REPORT = {"bootstrap_resamples": 200}
RING8 = np.array([[2 * np.cos(a), 2 * np.sin(a)] for a in np.arange(8) * 2 * np.pi / 8])


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


def write_run(
    run_dir: Path,
    trials: list[HandTrial],
    grid_keys: list[str],
    report: dict[str, Any] | None = None,
    missing: tuple[str, ...] = (),
    suite: str = "hand",
) -> Path:
    """Write run.json (listing ``missing`` ids that get no record) and every trial's files."""
    store = RunStore(run_dir)
    settings = ReportSettings.model_validate({**FAST_REPORT, **(report or {})})
    store.write_run_info(
        f"name: {suite}\n",
        {
            "suite": suite,
            "description": "A hand-built run for the report tests.",
            "suite_hash": "0123456789abcdef",
            "grid_keys": [*grid_keys, "seed"],
            "trial_ids": [trial.id for trial in trials] + list(missing),
            "settings": {"report": settings.model_dump(mode="json"), "check": CheckSettings().model_dump()},
            "device": "cpu",
            "genbench_version": "0.1.0",
            "created_at": "2024-01-01T00:00:00+00:00",
        },
    )
    for trial in trials:
        points = [
            CurvePoint(step=100 * (i + 1), metric=metric, value=value)
            for metric, values in trial.curves.items()
            for i, value in enumerate(values)
        ]
        store.write_trial(record_of(trial, suite), points, trial.samples, trial.mode_centres)
    return run_dir
