"""Peak memory and time of precision/recall/density/coverage (``genbench.metrics.prdc``) as the
sample count grows: random features of dimension 64, as many generated as real samples.

Each size runs in a process of its own, so that its peak resident memory (``ru_maxrss``) is its
own: the table gives the peak before the metric (Python, torch and the samples) and during it, the
metric's wall time, and what the three whole distance matrices of the algorithm before row blocks
would have taken. A script, not a test: run it alone, it takes minutes at 50,000 samples.

    .venv/bin/python benchmarks/prdc_memory.py                  # 2,500 10,000 25,000 50,000
    .venv/bin/python benchmarks/prdc_memory.py --sizes 2500,10000 --threads 1
    .venv/bin/python benchmarks/prdc_memory.py --device cuda    # adds the GPU's peak allocation
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import pandas as pd

DEFAULT_SIZES = "2500,10000,25000,50000"
DIMENSION = 64
SEED = 0
MIB = 2**20
GIB = 2**30


def measure(samples: int, dimension: int, device: str) -> dict[str, float]:
    """In this process: the metric once on ``samples`` generated and real samples."""
    import torch

    from genbench.metrics.prdc import precision_recall_density_coverage

    generator = torch.Generator().manual_seed(SEED)
    real = torch.randn(samples, dimension, generator=generator).to(device)
    generated = (0.8 * torch.randn(samples, dimension, generator=generator) + 0.3).to(device)
    before = peak_rss_bytes()
    start = time.perf_counter()
    values = precision_recall_density_coverage(generated, real, k_precision_recall=3, k_density_coverage=5)
    seconds = time.perf_counter() - start
    result = {"samples": samples, "before_bytes": before, "peak_bytes": peak_rss_bytes(), "seconds": seconds}
    if device.startswith("cuda"):
        result["gpu_peak_bytes"] = torch.cuda.max_memory_allocated()
    return {**result, **values}


def peak_rss_bytes() -> int:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measured_alone(samples: int, dimension: int, device: str, threads: int | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--one", str(samples), "--dimension", str(dimension)]
    command += ["--device", device] + (["--threads", str(threads)] if threads else [])
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def table(rows: list[dict[str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    shown = pd.DataFrame(
        {
            "samples (each side)": frame.samples.map("{:,}".format),
            "peak RSS before (MiB)": (frame.before_bytes / MIB).round(0).astype(int),
            "peak RSS during (MiB)": (frame.peak_bytes / MIB).round(0).astype(int),
            "time (s)": frame.seconds.round(2),
            "whole matrices (GiB)": (3 * 4 * frame.samples**2 / GIB).round(2),
        }
    )
    if "gpu_peak_bytes" in frame:
        shown["GPU peak (MiB)"] = (frame.gpu_peak_bytes / MIB).round(0).astype(int)
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="sample counts, comma-separated")
    parser.add_argument("--dimension", type=int, default=DIMENSION, help="feature dimension")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.threads:
        import torch

        torch.set_num_threads(arguments.threads)
    if arguments.one is not None:
        print(json.dumps(measure(arguments.one, arguments.dimension, arguments.device)))
        return
    rows = []
    for samples in (int(size) for size in arguments.sizes.split(",")):
        rows.append(measured_alone(samples, arguments.dimension, arguments.device, arguments.threads))
        print(f"{samples:,} samples: {rows[-1]['seconds']:.1f} s", file=sys.stderr)
    print(table(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
