"""Hand-built run folders for the baseline and check tests: records written through the real store,
with chosen metric values, so every expected verdict can be worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genbench.records import TrialRecord, TrialStatus
from genbench.settings import CheckSettings
from genbench.store import RunStore

MODES_PROTOCOL = {"metric": "modes", "metric_version": 1, "feature_space": "raw", "eval_samples": 1000}
ENVIRONMENT = {"genbench": "0.1.0", "torch": "2.4.0", "device": "cpu: cpu", "python": "3.11"}


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


def write_run(
    run_dir: Path,
    records: list[TrialRecord],
    grid_keys: tuple[str, ...] = ("loss", "seed"),
    check: dict[str, Any] | None = None,
    suite_hash: str = "hash-1",
) -> Path:
    store = RunStore(run_dir)
    settings = CheckSettings.model_validate(check or {}).model_dump(mode="json")
    info = {
        "suite": "unit",
        "description": "hand-built",
        "suite_hash": suite_hash,
        "grid_keys": list(grid_keys),
        "trial_ids": [record.id for record in records],
        "settings": {"check": settings},
    }
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
    return write_run(run_dir, records, **options)
