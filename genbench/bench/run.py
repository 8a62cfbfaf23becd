"""A suite's measurements, one after another, and the files they are written to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import torch

from genbench.atomic import write_atomically
from genbench.bench.figure import bench_figure, png_bytes
from genbench.bench.measure import Measurement, measure
from genbench.bench.plan import BenchPlan, Configuration
from genbench.suite import Suite

CSV_NAME, FIGURE_NAME = "bench.csv", "bench.png"


def default_bench_dir(suite: Suite, results_root: Path = Path("results")) -> Path:
    return results_root / "bench" / suite.name


def use_threads(device: torch.device, threads: int | None) -> int:
    """Set and return the threads this process computes with: ``threads``, else one on the CPU,
    as each of a run's workers does (one worker per core, so a CPU run's throughput is a
    single-threaded trial's times the cores), else torch's default. Several threads on a loaded
    machine can also be far slower than one (spinning threads wait on each other)."""
    if threads is None and device.type == "cpu":
        threads = 1
    if threads is not None:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def measurements(
    configs: list[Configuration], plan: BenchPlan, device: torch.device
) -> Iterator[Measurement]:
    """Every configuration at every batch size and ensemble size (E = 1 only where it does not
    stack), in that order, each as soon as it is measured."""
    if device.type == "cuda":
        # the clock's CUDA events are recorded on the current device
        torch.cuda.set_device(device)
    for config in configs:
        for batch_size in config.batch_sizes(plan):
            for members in config.ensemble_sizes(plan):
                yield measure(config, members, batch_size, plan, device)


def write_bench(frame: pd.DataFrame, directory: Path) -> list[Path]:
    """bench.csv and bench.png into ``directory``, each written atomically."""
    csv, png = directory / CSV_NAME, directory / FIGURE_NAME
    write_atomically(csv, lambda file: frame.to_csv(file, index=False))
    write_atomically(png, lambda file: file.write(png_bytes(bench_figure(frame))), mode="wb")
    return [csv, png]
