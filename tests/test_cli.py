"""The command line through Typer's CliRunner, and its start-up cost (no torch import)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
from typer.testing import CliRunner

from genbench.cli import app

from .conftest import REPO, TINY_SUITE

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "validate", "list"):
        assert command in result.output


def test_list_shows_each_registry_with_descriptions():
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    for name in (
        "ring8",
        "grid25",
        "mlp_gan",
        "pretrained",
        "ns",
        "minimax",
        "wgan",
        "wgan-gp",
        "hinge",
        "lsgan",
        "r1",
        "adam",
        "adamw",
        "rmsprop",
        "sgd",
        "modes",
        "prdc",
    ):
        assert f"  {name} " in result.output
    losses = runner.invoke(app, ["list", "losses"])
    assert "Gulrajani" in losses.output and "ring8" not in losses.output


def test_list_of_unknown_kind_is_exit_2():
    result = runner.invoke(app, ["list", "lossess"])
    assert result.exit_code == 2
    assert "allowed: datasets, models, losses" in result.output


def test_validate_prints_the_trial_count():
    result = runner.invoke(app, ["validate", str(REPO / "suites" / "mode_collapse.yaml")])
    assert result.exit_code == 0, result.output
    assert (
        "valid, 60 trials over dataset (2), loss (3), optimizer (2), train.d_steps (2), "
        "train.steps (4), seed (10)" in result.output
    )


def test_invalid_suite_is_exit_2_with_location_and_no_traceback(write_suite):
    path = write_suite(TINY_SUITE.replace("loss: ns", "loss: nss"))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:4: loss: unknown loss 'nss'. Did you mean 'ns'?" in result.output
    assert "Traceback" not in result.output
    run = runner.invoke(app, ["run", str(path)])
    assert run.exit_code == 2 and "Traceback" not in run.output


def test_run_writes_results_into_out(write_suite, tmp_path):
    path = write_suite(TINY_SUITE.replace("steps: 40", "steps: 20"))
    result = runner.invoke(
        app, ["run", str(path), "--out", str(tmp_path / "run"), "--device", "cpu", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "run" / "results.csv")
    assert list(table.status) == ["finished"]


def test_unknown_device_is_exit_2(write_suite, tmp_path):
    path = write_suite(TINY_SUITE)
    result = runner.invoke(app, ["run", str(path), "--device", "tpu", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "unknown device 'tpu'" in result.output


def test_help_list_and_validate_do_not_import_torch():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from genbench.cli import app\n"
        "runner = CliRunner()\n"
        "for args in (['--help'], ['run', '--help'], ['list'], ['validate', 'suites/mode_collapse.yaml']):\n"
        "    assert runner.invoke(app, args).exit_code == 0, args\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
