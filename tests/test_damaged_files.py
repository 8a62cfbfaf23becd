"""A damaged file in a run folder is named, never trusted, and never blocks the rest (issue 8, item 9).

Each test damages one file of a copy of a real tiny run (two seeds) the way files get damaged: cut
in half (a copy or a disk that filled up), overwritten with random bytes, or emptied. Read-only
commands that summarize the run (``baseline``, ``check``) refuse it, naming the file; ``report``
builds the report of the other trials and lists the damaged one; ``run`` moves the damaged trial's
folder aside and runs the trial again, leaving the other trials alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from genbench.cli import app
from genbench.report.build import HTML_FILE, MARKDOWN_FILE, REPORT_DIR
from genbench.store import DAMAGED_DIR, RunStore

from .conftest import TINY_SUITE, genbench_process

runner = CliRunner()
#: the installed command, as a user runs it
SUITE = TINY_SUITE + "grid: {seed: [0, 1]}\n"
TRIAL_FILES = ("record.json", "curves.csv", "samples.npy", "mode_centres.npy")


def cut_in_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def random_bytes(data: bytes) -> bytes:
    noise = np.random.default_rng(0).bytes(len(data))
    # every file the store writes ends a line at its end; noise that happened to would pass for one
    return noise[:-1] + b"\x00"


def emptied(data: bytes) -> bytes:
    return b""


DAMAGES = (cut_in_half, random_bytes, emptied)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A real run of the tiny suite with two seeds, beside its suite file."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "suite.yaml").write_text(SUITE)
    command = ["run", str(root / "suite.yaml"), "--out", str(root / "run"), "--device", "cpu", "--quiet"]
    result = runner.invoke(app, [*command, "--workers", "1"])
    assert result.exit_code == 0, result.output
    return root / "run"


@pytest.fixture
def run(tiny_run, tmp_path) -> Path:
    """A copy of the tiny run (and its suite file) that a test may damage."""
    shutil.copy(tiny_run.parent / "suite.yaml", tmp_path / "suite.yaml")
    return Path(shutil.copytree(tiny_run, tmp_path / "run"))


def trial_ids(run: Path) -> list[str]:
    return json.loads((run / "run.json").read_text())["trial_ids"]


def damage(run: Path, name: str, how=cut_in_half) -> Path:
    """Damage file ``name`` of the run's first trial (or run.json) and return its path."""
    path = run / name if name == "run.json" else run / "trials" / trial_ids(run)[0] / name
    path.write_bytes(how(path.read_bytes()))
    return path


def folder_bytes(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()
    }


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("name", TRIAL_FILES)
def test_baseline_refuses_a_run_with_a_damaged_trial_and_names_the_file(run, tmp_path, name, how):
    damaged = damage(run, name, how)
    result = runner.invoke(app, ["baseline", str(run), "--out", str(tmp_path / "baseline.json")])
    assert result.exit_code == 2, result.output
    assert f"error: {damaged} is damaged (" in result.output
    assert not (tmp_path / "baseline.json").exists()


def test_a_record_copied_into_another_trials_folder_is_damaged(run, tmp_path):
    first, second = trial_ids(run)
    shutil.copy(run / "trials" / first / "record.json", run / "trials" / second / "record.json")
    result = runner.invoke(app, ["baseline", str(run), "--out", str(tmp_path / "baseline.json")])
    assert result.exit_code == 2, result.output
    assert f"holds the record of trial {first}, not of {second}" in result.output


def test_check_refuses_a_run_with_a_damaged_trial(run, tmp_path):
    baseline = tmp_path / "baseline.json"
    assert runner.invoke(app, ["baseline", str(run), "--out", str(baseline)]).exit_code == 0
    damaged = damage(run, "samples.npy", random_bytes)
    result = runner.invoke(app, ["check", str(run), "--baseline", str(baseline)])
    assert result.exit_code == 2, result.output
    assert f"error: {damaged} is damaged (not a NumPy .npy file" in result.output


@pytest.mark.parametrize(
    ("name", "how"), [(name, DAMAGES[i % len(DAMAGES)]) for i, name in enumerate(TRIAL_FILES)]
)
def test_report_leaves_out_a_damaged_trial_lists_it_and_moves_nothing(run, name, how):
    damaged = damage(run, name, how)
    trials_before = folder_bytes(run / "trials")
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert f"warning: left out of the report: {damaged} is damaged (" in result.output
    markdown = (run / REPORT_DIR / MARKDOWN_FILE).read_text()
    assert "1 of 2 trials recorded (1 finished, 0 diverged, 0 failed)" in markdown
    assert "## Damaged trials" in markdown
    assert str(damaged) in markdown
    assert str(damaged) in (run / REPORT_DIR / HTML_FILE).read_text()
    assert folder_bytes(run / "trials") == trials_before
    assert not (run / DAMAGED_DIR).exists()


def test_a_report_of_a_run_whose_every_trial_is_damaged_keeps_no_table_or_figure_of_them(run):
    for trial in trial_ids(run):
        (run / "trials" / trial / "curves.csv").write_bytes(b"")
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert "0 of 2 trials recorded" in (run / REPORT_DIR / MARKDOWN_FILE).read_text()
    assert list((run / REPORT_DIR / "tables").iterdir()) == []
    assert list((run / REPORT_DIR / "figures").iterdir()) == []


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("command", ["report", "baseline"])
def test_a_damaged_run_json_is_named(run, command, how):
    damaged = damage(run, "run.json", how)
    result = runner.invoke(app, [command, str(run)])
    assert result.exit_code == 2, result.output
    assert f"error: {damaged} is damaged (" in result.output


@pytest.mark.parametrize("command", ["report", "baseline"])
def test_a_run_json_of_another_genbench_is_named_with_the_key(run, command):
    """Valid JSON, but not what this genbench writes (a newer version's key, a hand edit)."""
    info = json.loads((run / "run.json").read_text())
    info["written_by_a_future_genbench"] = True
    del info["grid_keys"]
    (run / "run.json").write_text(json.dumps(info))
    result = runner.invoke(app, [command, str(run)])
    assert result.exit_code == 2, result.output
    assert f"error: {run / 'run.json'} is damaged (not a run record of genbench" in result.output
    assert "grid_keys" in result.output


def test_the_installed_command_reports_damage_without_a_traceback(run):
    damaged = damage(run, "record.json", cut_in_half)
    report = genbench_process("report", str(run))
    assert report.returncode == 0, report.stderr
    assert f"warning: left out of the report: {damaged} is damaged (not valid JSON" in report.stderr
    baseline = genbench_process("baseline", str(run), "--out", str(run.parent / "baseline.json"))
    assert baseline.returncode == 2
    assert baseline.stderr.startswith(f"error: {damaged} is damaged (not valid JSON")
    assert "Traceback" not in report.stderr + baseline.stderr


def test_set_aside_moves_a_trials_folder_under_damaged_and_keeps_its_files(run):
    trial = trial_ids(run)[0]
    before = folder_bytes(run / "trials" / trial)
    moved = RunStore(run).set_aside(trial)
    assert moved.parent == run / DAMAGED_DIR
    assert moved.name.startswith(f"{trial}.")
    assert not (run / "trials" / trial).exists()
    assert folder_bytes(moved) == before


def test_run_sets_a_damaged_trial_aside_and_runs_it_again(run):
    damaged_trial, other_trial = trial_ids(run)
    damaged = damage(run, "record.json", cut_in_half)
    damaged_bytes = damaged.read_bytes()
    other_before = folder_bytes(run / "trials" / other_trial)
    done = genbench_process(
        "run",
        str(run.parent / "suite.yaml"),
        "--out",
        str(run),
        "--device",
        "cpu",
        "--quiet",
        "--workers",
        "1",
    )
    assert done.returncode == 0, done.stderr
    assert str(damaged) in done.stderr
    (moved,) = (run / DAMAGED_DIR).iterdir()
    assert moved.name.startswith(f"{damaged_trial}.")
    assert (moved / "record.json").read_bytes() == damaged_bytes
    assert RunStore(run).record(damaged_trial).status.value == "finished"
    assert folder_bytes(run / "trials" / other_trial) == other_before


def test_run_sets_a_damaged_run_json_aside_and_keeps_the_intact_trials(run):
    damaged = damage(run, "run.json", cut_in_half)
    damaged_bytes = damaged.read_bytes()
    trials_before = folder_bytes(run / "trials")
    done = genbench_process(
        "run", str(run.parent / "suite.yaml"), "--out", str(run), "--device", "cpu", "--workers", "1"
    )
    assert done.returncode == 0, done.stderr
    assert f"{damaged} is damaged (" in done.stderr
    assert "2 already done, running 0" in done.stderr
    (moved,) = (run / DAMAGED_DIR).iterdir()
    assert moved.name.startswith("run.json.")
    assert moved.read_bytes() == damaged_bytes
    assert RunStore(run).run_info().suite == "tiny"
    assert folder_bytes(run / "trials") == trials_before
