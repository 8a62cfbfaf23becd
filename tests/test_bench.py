"""``genbench bench`` and ``benchmarks/gpu_check.sh``: what they measure, write and refuse.

Rates depend on the machine, so no test asserts one; tests check which rows exist, that they are
measured, and how speedups are derived from them.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import torch

from genbench.bench.measure import NOTE_ALONE, Measurement
from genbench.bench.plan import BenchPlan, configurations, sizes
from genbench.bench.run import measurements
from genbench.bench.table import bench_frame, rate
from genbench.errors import GenbenchError
from genbench.suite import load_suite

from .conftest import REPO, genbench_process

SMOKE = REPO / "suites" / "smoke.yaml"

#: spectral norm does not vmap, so this DCGAN trains alone
SPECTRAL_DCGAN_SUITE = """
name: tiny_dcgan
dataset: {name: digits, params: {size: 16}}
model: {name: dcgan, params: {latent_dim: 8, base_channels: 4, discriminator_norm: spectral}}
loss: ns
optimizer: {name: adam, lr: 2.0e-4}
train: {steps: 10, batch_size: 4, eval_every: 0, eval_samples: 64}
metrics: [prdc]
grid: {seed: [0, 1]}
"""


def measured(config: str, ensemble: int, trial_steps: float, samples: float, batch: int = 64) -> Measurement:
    return Measurement(
        config=config,
        device="cpu",
        threads=1,
        ensemble=ensemble,
        batch_size=batch,
        trial_steps_per_s=trial_steps,
        samples_per_s=samples,
        peak_memory_mb=math.nan,
        stacks=True,
        note="",
    )


def test_bench_writes_a_row_per_configuration_and_ensemble_size(tmp_path):
    out = tmp_path / "bench"
    result = genbench_process(
        "bench", SMOKE, "--device", "cpu", "--ensemble-sizes", "1,2", "--steps", "3", "--samples", "64",
        "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "bench.csv")
    assert list(zip(table.config, table.ensemble, strict=True)) == [
        ("loss=ns", 1), ("loss=ns", 2), ("loss=hinge", 1), ("loss=hinge", 2)
    ]  # fmt: skip
    assert (table.batch_size == 64).all() and (table.threads == 1).all()
    assert (table.trial_steps_per_s > 0).all() and (table.samples_per_s > 0).all()
    assert (table.loc[table.ensemble == 1, "training_speedup"] == 1).all()
    assert (out / "bench.png").read_bytes().startswith(b"\x89PNG")
    assert str(out / "bench.csv") in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ensemble-sizes", "0"], "error: --ensemble-sizes must be distinct positive integers"),
        (["--batch-sizes", "8,x"], "error: --batch-sizes must be distinct positive integers"),
    ],
)
def test_bad_sizes_are_exit_2_with_one_line(tmp_path, args, message):
    result = genbench_process("bench", SMOKE, *args, "--out", tmp_path / "bench")
    assert result.returncode == 2
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bench").exists()


def test_missing_suite_is_exit_2_with_one_line(tmp_path):
    result = genbench_process("bench", tmp_path / "absent.yaml", "--device", "cpu")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: no suite file at {tmp_path / 'absent.yaml'}"


def test_bench_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from genbench.cli import app\n"
        "assert CliRunner().invoke(app, ['bench', '--help']).exit_code == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_sizes_keep_their_order_and_refuse_repeats():
    assert sizes("1,8,32", "--ensemble-sizes") == (1, 8, 32)
    assert sizes("32,8", "--ensemble-sizes") == (32, 8)
    for text in ("", "1,,2", "1,1", "-1", "2.5"):
        with pytest.raises(GenbenchError, match="--ensemble-sizes"):
            sizes(text, "--ensemble-sizes")


def test_configurations_leave_out_the_seed_and_stop_at_max_configs():
    suite = load_suite(SMOKE)  # loss (ns, hinge) x seed (0, 1): four trials, two configurations
    both = configurations(suite, max_configs=3)
    assert [config.label for config in both] == ["loss=ns", "loss=hinge"]
    assert all(config.spec.seed == 0 and config.stacks for config in both)
    assert [config.label for config in configurations(suite, max_configs=1)] == ["loss=ns"]


def test_a_model_that_does_not_stack_is_measured_alone(write_suite):
    (config,) = configurations(load_suite(write_suite(SPECTRAL_DCGAN_SUITE)), max_configs=3)
    plan = BenchPlan(ensemble_sizes=(1, 2, 4), steps=2, warmup_steps=1, samples=8)
    (row,) = measurements([config], plan, torch.device("cpu"))
    assert (row.ensemble, row.batch_size, row.stacks, row.note) == (1, 4, False, NOTE_ALONE)
    assert row.trial_steps_per_s > 0 and row.samples_per_s > 0
    assert math.isnan(row.peak_memory_mb)  # measured on CUDA only


def test_speedups_are_rates_over_the_same_work_alone():
    frame = bench_frame(
        [
            measured("a", 1, trial_steps=100, samples=1000),
            measured("a", 8, trial_steps=400, samples=2000),
            measured("a", 1, trial_steps=50, samples=1000, batch=256),
            measured("a", 8, trial_steps=300, samples=4000, batch=256),
            measured("b", 8, trial_steps=10, samples=10),  # no E = 1 to compare with
        ]
    )
    assert frame.training_speedup.tolist()[:4] == [1.0, 4.0, 1.0, 6.0]
    assert frame.sampling_speedup.tolist()[:4] == [1.0, 2.0, 1.0, 4.0]
    assert math.isnan(frame.training_speedup.iloc[4])


def test_rates_are_printed_in_three_significant_digits():
    assert [rate(value) for value in (312.4, 9_999, 56_789, 2_681_000, math.nan)] == [
        "312", "9,999", "56.8k", "2.68M", "-"
    ]  # fmt: skip


def test_gpu_check_runs_on_the_cpu_with_small_sizes():
    # compile is left out: torch.compile's first CPU build takes minutes; tests/test_fast_paths.py covers it
    script = REPO / "benchmarks" / "gpu_check.sh"
    small = textwrap.dedent("""
        --device cpu --members 1,2 --steps 2 --samples 16 --dcgan-batch 4 --dcgan-channels 8 --images 32
        --fast-paths precision,channels_last
    """).split()
    environment = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(
        [str(script), *small], capture_output=True, text=True, timeout=120, env=environment
    )
    assert result.returncode == 0, result.stderr
    for row in ("E=1", "E=2", "DCGAN 32 px training", "DCGAN 32 px sampling", "bf16 + channels-last"):
        assert row in result.stdout
    assert result.stdout.count("features, stacked-digits-cnn") == 2
