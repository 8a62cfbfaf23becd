"""The fast-path settings (train.precision, train.channels_last, train.compile) and the step timer.

Each runs on the CPU too (autocast on the CPU is bf16 as on a GPU), so these tests cover them; what
only a GPU shows (their speed) is measured by benchmarks/gpu_check.sh.
"""

from __future__ import annotations

import io
import json
import shutil
import textwrap

import pytest
import torch

from genbench.suite import load_suite
from genbench.train.trial import run_trials

from .conftest import genbench_process

CPU = torch.device("cpu")

SUITE = """
name: fast
dataset: {{name: ring8}}
model: {{name: mlp_gan, params: {{latent_dim: 2, hidden: 16, depth: 2}}}}
loss: {loss}
optimizer: {{name: adam, lr: 1.0e-3}}
train: {{steps: {steps}, batch_size: 32, eval_every: 0, eval_samples: 256{extra}}}
metrics: [modes]
grid: {{seed: [0, 1]}}
"""

DCGAN_SUITE = """
name: fast_dcgan
dataset: {{name: digits, params: {{size: 16}}}}
model: {{name: dcgan, params: {{latent_dim: 8, base_channels: 8}}}}
loss: ns
optimizer: {{name: adam, lr: 2.0e-4}}
train: {{steps: 3, batch_size: 8, eval_every: 0, eval_samples: 64{extra}}}
metrics: [prdc]
"""


def suite_text(loss: str = "ns", steps: int = 20, **train: object) -> str:
    extra = "".join(f", {key}: {json.dumps(value)}" for key, value in train.items())
    return textwrap.dedent(SUITE.format(loss=loss, steps=steps, extra=extra))


def records(run_dir) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(run_dir.glob("trials/*/record.json"))]


def weights(outcome) -> dict:
    return torch.load(io.BytesIO(outcome.checkpoint), weights_only=True)["state_dicts"]


def test_bf16_training_runs_through_the_command_line_and_is_part_of_the_spec(tmp_path):
    fp32, bf16 = tmp_path / "fp32.yaml", tmp_path / "bf16.yaml"
    fp32.write_text(suite_text())
    bf16.write_text(suite_text(precision="bf16"))
    result = genbench_process("run", bf16, "--out", tmp_path / "bf16", "--device", "cpu", "--quiet")
    assert result.returncode == 0, result.stderr
    bf16_records = records(tmp_path / "bf16")
    assert [record["status"] for record in bf16_records] == ["finished", "finished"]
    assert {record["spec"]["train"]["precision"] for record in bf16_records} == {"bf16"}
    # another setting is another trial: results of fp32 are never reused for bf16
    assert {trial.id for trial in load_suite(fp32).trials}.isdisjoint(r["id"] for r in bf16_records)


def test_bf16_trains_other_weights_than_fp32(write_suite):
    fp32, bf16 = (
        run_trials(load_suite(write_suite(suite_text(**train), f"{name}.yaml")).trials[:1], "fast", CPU)[0]
        for name, train in (("fp32", {}), ("bf16", {"precision": "bf16"}))
    )
    assert bf16.record.status == "finished"
    generator = "generator"
    assert any(
        not torch.allclose(tensor, weights(bf16)[generator][name], atol=1e-6)
        for name, tensor in weights(fp32)[generator].items()
    )


def test_bf16_with_a_gradient_penalty_trains(write_suite):
    outcomes = run_trials(
        load_suite(write_suite(suite_text("wgan-gp", precision="bf16"))).trials, "fast", CPU
    )
    assert [outcome.record.status for outcome in outcomes] == ["finished", "finished"]


def test_channels_last_dcgan_trains_to_the_same_weights(write_suite):
    def run(channels_last: bool):
        extra = ", channels_last: true" if channels_last else ""
        suite = load_suite(
            write_suite(textwrap.dedent(DCGAN_SUITE.format(extra=extra)), f"{channels_last}.yaml")
        )
        return run_trials(suite.trials, "fast", CPU)[0]

    plain, channels_last = run(False), run(True)
    assert channels_last.record.status == "finished"
    for network, state in weights(plain).items():
        for name, tensor in state.items():
            torch.testing.assert_close(weights(channels_last)[network][name], tensor, atol=1e-5, rtol=1e-4)


def test_throughput_is_timed_after_a_recorded_warm_up(write_suite):
    (long_run, _), (short_run, _) = (
        run_trials(load_suite(write_suite(suite_text(steps=steps), f"{steps}.yaml")).trials, "fast", CPU)
        for steps in (30, 5)
    )
    assert long_run.record.timings["warmup_steps"] == 10
    assert long_run.record.timings["samples_per_second"] > 0
    assert long_run.record.environment["timing"] == "perf_counter"
    # too short to have a warm-up: timed whole, and it says so
    assert short_run.record.timings["warmup_steps"] == 0


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="torch.compile's CPU backend needs a C++ compiler")
def test_compiled_networks_train_to_the_weights_of_eager_ones_and_the_record_says_what_compiled(write_suite):
    eager = run_trials(load_suite(write_suite(suite_text(), "eager.yaml")).trials, "fast", CPU)
    compiled = run_trials(
        load_suite(write_suite(suite_text(compile=True), "compiled.yaml")).trials, "fast", CPU
    )
    assert compiled[0].record.environment["compiled"] == "generator, discriminator"
    for alone, fast in zip(eager, compiled, strict=True):
        for network, state in weights(alone).items():
            for name, tensor in state.items():
                torch.testing.assert_close(weights(fast)[network][name], tensor, atol=1e-4, rtol=1e-3)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="torch.compile's CPU backend needs a C++ compiler")
def test_a_discriminator_with_a_gradient_penalty_stays_eager_under_compile(write_suite):
    (outcome, _) = run_trials(
        load_suite(write_suite(suite_text("wgan-gp", steps=10, compile=True))).trials, "fast", CPU
    )
    assert outcome.record.status == "finished"
    assert outcome.record.environment["compiled"] == "generator"
