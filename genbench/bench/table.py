"""bench.csv as a tidy table (one row per configuration, device, ensemble size and batch size), the
speedups over an ensemble of one, and the table ``genbench bench`` prints."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict

import pandas as pd
from rich.table import Table

from genbench.bench.measure import Measurement

#: the rows an ensemble of E is compared with: the same configuration, device and batch size at E = 1
SAME_WORK = ["config", "device", "batch_size"]
#: rate column -> its speedup column
SPEEDUPS = {"trial_steps_per_s": "training_speedup", "samples_per_s": "sampling_speedup"}
COLUMNS = [
    "config",
    "device",
    "threads",
    "ensemble",
    "batch_size",
    "trial_steps_per_s",
    "samples_per_s",
    "training_speedup",
    "sampling_speedup",
    "peak_memory_mb",
    "stacks",
    "note",
]


def bench_frame(measurements: Iterable[Measurement]) -> pd.DataFrame:
    """The measurements with each rate's speedup over E = 1 (per trial-step or sample: how much
    faster a trial trains or a member samples in an ensemble of E than alone)."""
    frame = pd.DataFrame([asdict(measurement) for measurement in measurements])
    single = frame.loc[frame.ensemble == 1, [*SAME_WORK, *SPEEDUPS]]
    merged = frame.merge(single, on=SAME_WORK, how="left", suffixes=("", "_alone"))
    for rate, speedup in SPEEDUPS.items():
        frame[speedup] = (merged[rate] / merged[f"{rate}_alone"]).to_numpy()
    return frame[COLUMNS]


def rate(value: float) -> str:
    """A rate in three significant digits (``1,234``, ``56.8k``, ``2.68M``); ``-`` if not measured."""
    if math.isnan(value):
        return "-"
    for threshold, scale, suffix in ((1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if value >= threshold:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:,.0f}"


def speedup(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def measurement_line(measurement: Measurement) -> str:
    """One measurement as it is reported while the rest are still running."""
    return (
        f"{measurement.config}, batch {measurement.batch_size}, E={measurement.ensemble}: "
        f"{rate(measurement.trial_steps_per_s)} trial-steps/s, {rate(measurement.samples_per_s)} samples/s"
        + (f" ({measurement.note})" if measurement.note else "")
    )


def rich_table(frame: pd.DataFrame, title: str) -> Table:
    """The rates and their speedups over E = 1, and peak memory where it was measured (CUDA)."""
    table = Table(title=title)
    with_memory = bool(frame.peak_memory_mb.notna().any())
    headers = ["config", "batch", "E", "trial-steps/s", "vs E=1", "samples/s", "vs E=1"]
    for header in [*headers, *(["peak MiB"] if with_memory else []), "note"]:
        table.add_column(header, justify="left" if header in ("config", "note") else "right")
    for row in frame.itertuples():
        memory = ["-" if math.isnan(row.peak_memory_mb) else f"{row.peak_memory_mb:,.0f}"]
        table.add_row(
            row.config,
            str(row.batch_size),
            str(row.ensemble),
            rate(row.trial_steps_per_s),
            speedup(row.training_speedup),
            rate(row.samples_per_s),
            speedup(row.sampling_speedup),
            *(memory if with_memory else []),
            row.note,
        )
    return table
