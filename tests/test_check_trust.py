"""Checks a user can trust (issue 8, items 2 and 3).

New pretrained weights at the baseline's path are checked against the baseline, not refused as
another suite: the baseline pins the protocol, and the output names the weights each side measured.
A NaN or an out-of-range number in a baseline file or an option never turns the check off: it is
unusable input, exit 2 with the file and field named.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genbench.check.protocol import LOCATION, spec_protocol, weights_sha256
from genbench.cli import app
from genbench.hashing import file_sha256

from .conftest import genbench_process
from .generators import export_sampler
from .hand_runs import cells_run, fake_record, write_records_run

PRETRAINED_SUITE = """\
name: new_weights
dataset: ring8
model:
  name: pretrained
  params: {format: export, path: generator.pt2, latent_dim: 3}
train: {steps: 0, eval_samples: 1000}
metrics: [modes]
grid:
  seed: [0, 1, 2]
check:
  metrics: [modes_covered]
  tolerances:
    modes_covered: {absolute: 1.0}
"""
THREE_MODES = [0, 3, 5]
RUN_OPTIONS = ("--device", "cpu", "--quiet", "--workers", "1")

BASELINE_VALUES = {"ns": [8.0, 7.0, 8.0, 8.0, 7.0], "hinge": [8.0, 8.0, 8.0, 7.0, 8.0]}
COLLAPSED_NS = {"ns": [1.0, 1.0, 2.0, 1.0, 1.0], "hinge": [8.0, 7.0, 8.0, 8.0, 8.0]}
CHECK = {"metrics": ["modes_covered"], "tolerances": {"modes_covered": {"absolute": 1.0}}}


def invoke(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def run_suite_cli(folder: Path, out: str, *options: str):
    """``genbench run`` of the folder's suite with one worker (the trials take milliseconds each)."""
    return invoke("run", folder / "suite.yaml", "--out", folder / out, *RUN_OPTIONS, *options)


# -- item 2: a check of new weights -----------------------------------------------------------------


@pytest.fixture(scope="module")
def weights_folder(tmp_path_factory) -> Path:
    """A pretrained suite, a baseline of the perfect ring8 generator, and both generators saved
    aside; each test copies the one it evaluates onto the suite's ``generator.pt2``."""
    folder = tmp_path_factory.mktemp("new_weights")
    export_sampler(folder / "perfect.pt2")
    export_sampler(folder / "three_modes.pt2", modes=THREE_MODES)
    (folder / "suite.yaml").write_text(PRETRAINED_SUITE)
    shutil.copy(folder / "perfect.pt2", folder / "generator.pt2")
    ran = run_suite_cli(folder, "baseline_run")
    assert ran.exit_code == 0, ran.output
    written = invoke("baseline", folder / "baseline_run", "--out", folder / "baseline.json")
    assert written.exit_code == 0, written.output
    return folder


def test_new_weights_that_regressed_at_the_same_path_exit_1_naming_modes_covered(weights_folder):
    shutil.copy(weights_folder / "three_modes.pt2", weights_folder / "generator.pt2")
    ran = run_suite_cli(weights_folder, "three_modes_run")
    assert ran.exit_code == 0, ran.output
    checked = genbench_process(
        "check", weights_folder / "three_modes_run", "--baseline", weights_folder / "baseline.json"
    )
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "- (all) / modes_covered: worse by 5 > band 1" in checked.stdout
    perfect, three = (
        file_sha256(weights_folder / "perfect.pt2"),
        file_sha256(weights_folder / "three_modes.pt2"),
    )
    assert f"subject: pretrained weights sha256 {three[:12]} (baseline: {perfect[:12]})" in checked.stdout


def test_the_same_weights_pass_through_run_with_check_and_the_output_says_so(weights_folder):
    shutil.copy(weights_folder / "perfect.pt2", weights_folder / "generator.pt2")
    ran = run_suite_cli(weights_folder, "same_run", "--check", str(weights_folder / "baseline.json"))
    assert ran.exit_code == 0, ran.output
    perfect = file_sha256(weights_folder / "perfect.pt2")
    assert f"subject: pretrained weights sha256 {perfect[:12]}, same as the baseline" in ran.output
    subjects = json.loads((weights_folder / "same_run" / "check.json").read_text())["subjects"]
    assert subjects == [{"cells": ["(all)"], "baseline": [perfect], "current": [perfect]}]


def pretrained_spec(path: str, sha256: str, eval_samples: int = 1000) -> dict:
    params = {"format": "export", "path": path, "latent_dim": 3, "sha256": sha256}
    return {
        "dataset": {"name": "ring8", "params": {}},
        "model": {"name": "pretrained", "params": params},
        "train": {"steps": 0, "eval_samples": eval_samples},
        "metrics": [{"name": "modes", "params": {}}],
        "seed": 0,
    }


def test_the_protocol_leaves_out_the_weights_their_location_and_the_seed():
    here = pretrained_spec("/home/a/repo/generator.pt2", "a" * 64)
    there = {**pretrained_spec("/ci/checkout/other.pt2", "b" * 64), "seed": 4}
    assert spec_protocol(here) == spec_protocol(there)
    assert spec_protocol(here) != spec_protocol(pretrained_spec("/home/a/repo/generator.pt2", "a" * 64, 500))
    assert weights_sha256(here) == "a" * 64
    assert spec_protocol(here)["model"]["params"] == {"format": "export", "latent_dim": 3}


def test_other_file_locations_count_as_a_file_named_not_as_a_path():
    spec = pretrained_spec("/w.pt2", "a" * 64)
    spec["dataset"] = {"name": "image_folder", "params": {"root": "/home/a/repo/data/faces", "size": 32}}
    assert spec_protocol(spec)["dataset"]["params"] == {"root": LOCATION, "size": 32}


def test_a_changed_protocol_of_pretrained_weights_names_the_setting(tmp_path):
    def run(name: str, eval_samples: int, sha256: str) -> Path:
        records = []
        for seed in range(3):
            record = fake_record({}, seed, {"modes_covered": 8.0})
            spec = {**pretrained_spec(f"/{name}/generator.pt2", sha256, eval_samples), "seed": seed}
            records.append(record.model_copy(update={"spec": spec}))
        return write_records_run(tmp_path / name, records, grid_keys=("seed",), check=CHECK)

    invoke("baseline", run("baseline_run", 1000, "a" * 64), "--out", tmp_path / "b.json")
    same_protocol = invoke("check", run("new_weights", 1000, "b" * 64), "--baseline", tmp_path / "b.json")
    assert same_protocol.exit_code == 0, same_protocol.output
    assert "subject: pretrained weights sha256 bbbbbbbbbbbb (baseline: aaaaaaaaaaaa)" in same_protocol.output
    changed = invoke("check", run("fewer_samples", 500, "b" * 64), "--baseline", tmp_path / "b.json")
    assert changed.exit_code == 2
    assert "the suite changed: train.eval_samples 1000 -> 500 in (all)" in changed.output


def test_a_baseline_of_the_previous_format_is_refused_with_how_to_write_it_again(tmp_path):
    run = cells_run(tmp_path / "run", BASELINE_VALUES, check=CHECK)
    invoke("baseline", run, "--out", tmp_path / "b.json")
    payload = json.loads((tmp_path / "b.json").read_text())
    payload["format"] = 1
    (tmp_path / "b.json").write_text(json.dumps(payload))
    result = invoke("check", run, "--baseline", tmp_path / "b.json")
    assert result.exit_code == 2
    assert "is a baseline of format 1, written by an older genbench" in result.output
    assert "genbench baseline RESULTS_DIR --out FILE" in result.output


# -- item 3: no NaN turns the check off -------------------------------------------------------------


@pytest.fixture
def collapsed_and_baseline(tmp_path) -> tuple[Path, Path]:
    """A run that regresses (loss=ns collapsed) and the baseline it regresses against."""
    baseline_run = cells_run(tmp_path / "baseline_run", BASELINE_VALUES, check=CHECK)
    written = invoke("baseline", baseline_run, "--out", tmp_path / "baseline.json")
    assert written.exit_code == 0, written.output
    collapsed = cells_run(tmp_path / "collapsed", COLLAPSED_NS, check=CHECK)
    assert invoke("check", collapsed, "--baseline", tmp_path / "baseline.json").exit_code == 1
    return collapsed, tmp_path / "baseline.json"


def edited(baseline: Path, edit) -> Path:
    """A copy of the baseline with ``edit`` applied to its JSON (NaN written as JSON NaN)."""
    payload = json.loads(baseline.read_text())
    edit(payload)
    path = baseline.with_name("edited.json")
    path.write_text(json.dumps(payload))
    return path


def assert_refused(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output


@pytest.mark.parametrize("alpha", [math.nan, 7, 0, math.inf])
def test_an_alpha_out_of_range_in_the_baseline_is_refused(collapsed_and_baseline, alpha):
    collapsed, baseline = collapsed_and_baseline
    path = edited(baseline, lambda payload: payload.update(alpha=alpha))
    assert_refused(
        invoke("check", collapsed, "--baseline", path), "edited.json is not a valid baseline", "alpha"
    )


def test_a_nan_alpha_in_the_baseline_is_refused_by_the_command_in_its_own_process(collapsed_and_baseline):
    collapsed, baseline = collapsed_and_baseline
    path = edited(baseline, lambda payload: payload.update(alpha=math.nan))
    result = genbench_process("check", collapsed, "--baseline", path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "alpha: Input should be a finite number" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_nan_seed_value_in_the_baseline_is_refused_naming_the_field(collapsed_and_baseline):
    collapsed, baseline = collapsed_and_baseline

    def nan_value(payload):
        payload["cells"]["loss=ns"]["seeds"][0]["values"]["modes_covered"] = math.nan

    path = edited(baseline, nan_value)
    result = invoke("check", collapsed, "--baseline", path)
    assert_refused(result, "cells.loss=ns.seeds.0.values.modes_covered: Input should be a finite number")


def test_a_nan_summary_in_the_baseline_is_refused(collapsed_and_baseline):
    collapsed, baseline = collapsed_and_baseline

    def nan_mean(payload):
        payload["cells"]["loss=ns"]["metrics"]["modes_covered"]["mean"] = math.nan

    result = invoke("check", collapsed, "--baseline", edited(baseline, nan_mean))
    assert_refused(result, "cells.loss=ns.metrics.modes_covered.mean")


def test_an_infinite_tolerance_in_the_baseline_is_refused(collapsed_and_baseline):
    collapsed, baseline = collapsed_and_baseline

    def infinite(payload):
        payload["metrics"]["modes_covered"]["tolerance"]["absolute"] = math.inf

    result = invoke("check", collapsed, "--baseline", edited(baseline, infinite))
    assert_refused(result, "metrics.modes_covered.tolerance")


@pytest.mark.parametrize("value", ["nan", "inf", "nan%", "-1"])
def test_a_tolerance_option_that_is_not_a_finite_number_is_refused(collapsed_and_baseline, value):
    collapsed, baseline = collapsed_and_baseline
    result = invoke("check", collapsed, "--baseline", baseline, "--tolerance", f"modes_covered={value}")
    assert_refused(result, f"tolerance 'modes_covered={value}'", "finite, non-negative VALUE")


@pytest.mark.parametrize("alpha", ["nan", "0", "1"])
def test_an_alpha_option_outside_zero_to_one_is_refused(collapsed_and_baseline, alpha):
    collapsed, baseline = collapsed_and_baseline
    assert_refused(invoke("check", collapsed, "--baseline", baseline, "--alpha", alpha), "alpha")
    assert_refused(invoke("compare", baseline.parent / "baseline_run", collapsed, "--alpha", alpha), "alpha")


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_compare_refuses_a_run_with_a_non_finite_metric_naming_trial_and_metric(tmp_path, value):
    run_a = cells_run(tmp_path / "a", BASELINE_VALUES, check=CHECK)
    placeholder = 12345.0
    run_b = cells_run(tmp_path / "b", {"ns": [8.0, placeholder, 8.0], "hinge": [8.0, 8.0, 8.0]}, check=CHECK)
    # written as Python's json module writes a non-finite float
    record = run_b / "trials" / "loss=ns-seed1" / "record.json"
    record.write_text(record.read_text().replace(str(placeholder), value))
    message = "trial loss=ns-seed1 ({'loss': 'ns', 'seed': '1'}) has a final value that is not a finite"
    shown = f"modes_covered = {float(value)}"
    for command in (["compare", run_a, run_b], ["compare", run_b, run_a], ["baseline", run_b]):
        assert_refused(invoke(*command), message, shown)
