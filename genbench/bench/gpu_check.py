"""The check behind ``benchmarks/gpu_check.sh``: one short table of what genbench gains on a device.

- **Ensembles**: the default suite's network (the first configuration of
  ``suites/mode_collapse.yaml``: MLP hidden 128, depth 3, batch 256, NS loss, Adam) at E = 1, 8, 64
  and 256 members: trial-steps/s, the speedup over E = 1 and a step's time relative to E = 1's
  (issue 10's GPU target: 64 members in at most twice the time of one).
- **DCGAN at 32 px** (stacked digits, bundled, offline): training images/s (real images a second)
  and sampling images/s, plain and with the fast paths (``train.precision: bf16``,
  ``train.channels_last: true``, ``train.compile: true``; ``--fast-paths`` picks which).
- **Feature extraction**: images/s of the offline ``stacked-digits-cnn`` extractor on 32 px
  images, at the image metrics' default batch and at a large one.

Every figure comes from ``genbench.bench.measure`` (the runner's ensemble, step and loop; CUDA
events) or, for extraction, from the feature space the metrics use. It runs on the CPU too
(``--device cpu`` with small sizes), so a test covers it.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from genbench.bench import defaults
from genbench.bench.measure import NOTE_ALONE, Measurement, device_seconds, measure
from genbench.bench.plan import BenchPlan, Configuration, configurations, sizes
from genbench.bench.run import use_threads
from genbench.bench.table import rate
from genbench.errors import GenbenchError
from genbench.metrics.features import feature_space
from genbench.metrics.params import FeatureSpaceParams
from genbench.runner import resolve_device
from genbench.suite import load_suite
from genbench.train.streams import seeded
from genbench.train.trial import environment

#: the suite settings of the fast paths and the values that turn them on
FAST_PATHS = {"precision": "bf16", "channels_last": True, "compile": True}
#: how the table names each
FAST_PATH_LABELS = {"precision": "bf16", "channels_last": "channels-last", "compile": "compiled"}
IMAGE_SIDE = 32
EXTRACTOR = "stacked-digits-cnn"
#: wide enough for every row on one line, also when the output goes to a file
TABLE_WIDTH = 132
#: a batch that fills a GPU better than the metrics' default
LARGE_EXTRACTION_BATCH = 1024

DCGAN_SUITE = """
name: gpu_check_dcgan
dataset: {{name: stacked_digits, params: {{size: {side}}}}}
model: {{name: dcgan, params: {{latent_dim: 100, base_channels: {channels}}}}}
loss: ns
optimizer: {{name: adam, lr: 2.0e-4, betas: [0.5, 0.999]}}
train: {{steps: 1, batch_size: {batch}, eval_samples: 64{fast_paths}}}
metrics: [{{name: fid, params: {{feature_extractor: {extractor}}}}}]
"""


@dataclass(frozen=True)
class Row:
    check: str
    setting: str
    rate: str
    speedup: str
    note: str = ""


def times(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def ensemble_rows(
    config: Configuration, members: Sequence[int], plan: BenchPlan, device: torch.device
) -> list[Row]:
    """Trial-steps/s at each ensemble size, against E = members[0] (1 by default)."""
    batch = config.spec.train.batch_size
    check = f"ensemble: {config.spec.model.name}, batch {batch}"
    measured = [measure(config, size, batch, plan, device) for size in members]
    first = measured[0]
    rows = []
    for size, measurement in zip(members, measured, strict=True):
        speedup = measurement.trial_steps_per_s / first.trial_steps_per_s
        step_time = size / first.ensemble / speedup
        rows.append(
            Row(
                check,
                f"E={size}",
                f"{rate(measurement.trial_steps_per_s)} trial-steps/s",
                times(speedup),
                measurement.note or f"step time {times(step_time)} E={first.ensemble}'s",
            )
        )
    return rows


def dcgan_config(directory: Path, args: argparse.Namespace, fast_paths: dict[str, object]) -> Configuration:
    settings = "".join(f", {name}: {json.dumps(value)}" for name, value in fast_paths.items())
    text = DCGAN_SUITE.format(
        side=IMAGE_SIDE,
        channels=args.dcgan_channels,
        batch=args.dcgan_batch,
        extractor=EXTRACTOR,
        fast_paths=settings,
    )
    path = directory / ("dcgan_fast.yaml" if fast_paths else "dcgan.yaml")
    path.write_text(textwrap.dedent(text))
    return configurations(load_suite(path), 1)[0]


def dcgan_rows(
    args: argparse.Namespace, plan: BenchPlan, device: torch.device, fast_paths: dict[str, object]
) -> list[Row]:
    """Training and sampling images/s of a 32 px DCGAN, plain and with ``fast_paths``."""
    with tempfile.TemporaryDirectory() as directory:
        fast = " + ".join(FAST_PATH_LABELS[name] for name in fast_paths)
        variants = {"plain": {}, **({fast: fast_paths} if fast_paths else {})}
        measured: dict[str, Measurement] = {}
        for name, settings in variants.items():
            config = dcgan_config(Path(directory), args, settings)
            measured[name] = measure(config, 1, args.dcgan_batch, plan, device)
    plain = measured["plain"]
    rows = []
    for name, measurement in measured.items():
        images_per_s = measurement.trial_steps_per_s * measurement.batch_size
        rows.append(
            Row(
                f"DCGAN {IMAGE_SIDE} px training",
                name,
                f"{rate(images_per_s)} images/s",
                times(measurement.trial_steps_per_s / plain.trial_steps_per_s),
                # measured alone on purpose: a note that it does not stack would say nothing here
                measurement.note.removeprefix(NOTE_ALONE).strip("; "),
            )
        )
    for name, measurement in measured.items():
        rows.append(
            Row(
                f"DCGAN {IMAGE_SIDE} px sampling",
                name,
                f"{rate(measurement.samples_per_s)} images/s",
                times(measurement.samples_per_s / plain.samples_per_s),
            )
        )
    return rows


def extraction_rows(count: int, device: torch.device) -> list[Row]:
    """Images/s of the feature space the image metrics use, on random 32 px images in [-1, 1]."""
    space = feature_space(EXTRACTOR, None)
    images = torch.rand(count, 3, IMAGE_SIDE, IMAGE_SIDE, generator=seeded(device, 0), device=device) * 2 - 1
    default_batch = FeatureSpaceParams().batch_size
    rows = []
    for batch in (default_batch, LARGE_EXTRACTION_BATCH):
        space.extract(images, batch)
        seconds = device_seconds(lambda batch=batch: space.extract(images, batch), device)
        rows.append(
            Row(
                f"features, {EXTRACTOR} {IMAGE_SIDE} px",
                f"batch {batch}" + (" (metrics' default)" if batch == default_batch else ""),
                f"{rate(count / seconds)} images/s",
                "",
            )
        )
    return rows


def chosen_fast_paths(text: str) -> dict[str, object]:
    names = [name for name in text.split(",") if name]
    unknown = sorted(set(names) - set(FAST_PATHS))
    if unknown:
        raise GenbenchError(f"unknown fast paths {unknown}; allowed: {', '.join(FAST_PATHS)}")
    return {name: FAST_PATHS[name] for name in names}


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gpu_check.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--suite", type=Path, default=Path("suites/mode_collapse.yaml"), help="the default suite"
    )
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default cuda)")
    parser.add_argument("--members", default="1,8,64,256", help="ensemble sizes (default 1,8,64,256)")
    parser.add_argument("--steps", type=int, default=defaults.STEPS, help="timed steps per measurement")
    parser.add_argument("--samples", type=int, default=defaults.SAMPLES, help="samples per member drawn")
    parser.add_argument("--dcgan-batch", type=int, default=128, help="DCGAN batch size (default 128)")
    parser.add_argument("--dcgan-channels", type=int, default=64, help="DCGAN base channels (default 64)")
    parser.add_argument("--threads", type=int, default=None, help="threads (default: 1 on the CPU)")
    parser.add_argument("--images", type=int, default=10000, help="images per extraction (default 10000)")
    parser.add_argument(
        "--fast-paths",
        default=",".join(FAST_PATHS),
        help=f"fast paths to try (default {','.join(FAST_PATHS)})",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(argv)
    try:
        device = torch.device(resolve_device(args.device))
        use_threads(device, args.threads)
        plan = BenchPlan(
            ensemble_sizes=sizes(args.members, "--members"), steps=args.steps, samples=args.samples
        )
        fast_paths = chosen_fast_paths(args.fast_paths)
        default_network = configurations(load_suite(args.suite), 1)[0]
        rows = [
            *ensemble_rows(default_network, plan.ensemble_sizes, plan, device),
            *dcgan_rows(args, plan, device, fast_paths),
            *extraction_rows(args.images, device),
        ]
    except GenbenchError as error:
        raise SystemExit(f"error: {error}") from None
    where = environment(device)
    table = Table(
        title=f"genbench GPU check: {where['device']}, torch {where['torch']}, threads: {where['threads']}"
    )
    for header in ("check", "setting", "rate", "speedup", "note"):
        table.add_column(header)
    for row in rows:
        table.add_row(row.check, row.setting, row.rate, row.speedup, row.note)
    Console(width=TABLE_WIDTH).print(table)


if __name__ == "__main__":
    main()
