"""`genbench run` as a user meets it: resume only under the same code, exit codes that say what
happened, trials that fail or kill their worker recorded as failed, folders that are not this
suite's refused. Through the command line (subprocesses where a fresh interpreter matters)."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from genbench.cli import app
from genbench.store import RunStore

from .conftest import TINY_SUITE, genbench_process

runner = CliRunner()

#: a user dataset module: the ring, optionally scaled, so an edit changes the numbers
USER_DATASET = """
from genbench.data.mixtures import RingMixture
from genbench.data.params import RingParams

SCALE = {scale}


class Scaled(RingMixture):
    def sample(self, n, generator):
        return SCALE * super().sample(n, generator)


def ring(**params):
    return Scaled(**RingParams(**params).model_dump())
"""

#: user datasets that end their trial in ways a trial must survive
ENDINGS = """
import os
import shutil
import signal
import sys

from genbench.data.mixtures import RingMixture
from genbench.data.params import RingParams


def ring(**params):
    return RingMixture(**RingParams(**params).model_dump())


def exits(**params):
    sys.exit(0)


def interrupts(**params):
    raise KeyboardInterrupt


def killed(**params):
    os.kill(os.getpid(), signal.SIGKILL)
"""

SMALL_TRAIN = "train: {steps: 10, batch_size: 32, eval_every: 0, eval_samples: 256}"


def write_module(folder: Path, name: str, source: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(source))


def user_suite(tmp_path: Path, dataset: str, grid: str = "") -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(
        TINY_SUITE.replace("dataset: {name: ring8}", f'dataset: {{name: "{dataset}"}}').replace(
            "train: {steps: 40, batch_size: 32, eval_every: 20, eval_samples: 256}", SMALL_TRAIN
        )
        + grid
    )
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny suite, run once through the command line: (suite file, run folder)."""
    folder = tmp_path_factory.mktemp("tiny")
    suite = folder / "suite.yaml"
    suite.write_text(TINY_SUITE)
    out = folder / "run"
    assert runner.invoke(app, ["run", str(suite), "--out", str(out), "--device", "cpu", "-q"]).exit_code == 0
    return suite, out


def copy_of_tiny_run(tiny_run: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    suite, out = tiny_run
    shutil.copytree(out, tmp_path / "run")
    return suite, tmp_path / "run"


# -- item 1: no stale reuse after a code change ------------------------------------------------


@pytest.mark.slow
def test_an_edited_user_module_reruns_its_trials(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers inherit sys.path
    write_module(tmp_path, "user_data_edit", USER_DATASET.format(scale=1.0))
    suite = user_suite(tmp_path, "user_data_edit:ring")
    out = tmp_path / "run"
    args = ["run", str(suite), "--out", str(out), "--device", "cpu", "-q"]
    assert runner.invoke(app, args).exit_code == 0
    (before,) = RunStore(out).records()
    samples_before = RunStore(out).samples(before.id)

    write_module(tmp_path, "user_data_edit", USER_DATASET.format(scale=3.0))
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "1 trials recorded by other code: rerunning (user_data_edit changed)" in again.output
    (after,) = RunStore(out).records()
    assert after.id == before.id
    assert after.code.user_modules["user_data_edit"] != before.code.user_modules["user_data_edit"]
    # trained on data three times as large: other samples, not the stale ones
    assert not np.array_equal(RunStore(out).samples(after.id), samples_before)

    # edited to fail: no sample or checkpoint of the earlier code stays beside the failed record
    write_module(
        tmp_path, "user_data_edit", USER_DATASET.format(scale=3.0) + "\nraise ValueError('broken')\n"
    )
    broken = runner.invoke(app, args)
    assert broken.exit_code == 3, broken.output
    assert sorted(path.name for path in RunStore(out).trial_dir(after.id).iterdir()) == [
        "curves.csv",
        "record.json",
    ]


def test_a_record_of_other_genbench_source_is_rerun_unless_kept_on_purpose(tiny_run, tmp_path):
    suite, out = copy_of_tiny_run(tiny_run, tmp_path)
    (record,) = RunStore(out).records()
    record_file = RunStore(out).trial_dir(record.id) / "record.json"
    stale = json.loads(record_file.read_text())
    stale["code"]["genbench_source"] = "0" * 16
    stale["metrics"]["modes_covered"] = -1.0
    record_file.write_text(json.dumps(stale))

    kept = runner.invoke(
        app, ["run", str(suite), "--out", str(out), "--device", "cpu", "-q", "--reuse-stale"]
    )
    assert kept.exit_code == 0, kept.output
    assert "kept from other code (--reuse-stale)" in kept.output
    assert json.loads((out / "run.json").read_text())["stale_reused"] == [record.id]
    assert RunStore(out).records()[0].metrics["modes_covered"] == -1.0

    refused = runner.invoke(
        app,
        ["run", str(suite), "--out", str(out), "-q", "--reuse-stale", "--check", str(tmp_path / "b.json")],
    )
    assert refused.exit_code == 2
    assert "--check compares only results of the current code" in refused.output

    rerun = runner.invoke(app, ["run", str(suite), "--out", str(out), "--device", "cpu", "-q"])
    assert rerun.exit_code == 0, rerun.output
    assert "1 trials recorded by other code: rerunning (genbench's source changed)" in rerun.output
    assert RunStore(out).records()[0].metrics == record.metrics


def test_a_record_without_code_identity_is_not_reused(tiny_run, tmp_path):
    suite, out = copy_of_tiny_run(tiny_run, tmp_path)
    (record,) = RunStore(out).records()
    record_file = RunStore(out).trial_dir(record.id) / "record.json"
    old = json.loads(record_file.read_text())
    del old["code"]
    record_file.write_text(json.dumps(old))
    rerun = runner.invoke(app, ["run", str(suite), "--out", str(out), "--device", "cpu", "-q"])
    assert "1 trials recorded by other code: rerunning (no code recorded)" in rerun.output


# -- item 7: exit codes and the summary line ---------------------------------------------------


def test_all_trials_failing_exits_3_with_a_summary_even_when_quiet(tmp_path, write_suite):
    suite = write_suite(
        TINY_SUITE.replace(
            "{name: mlp_gan, params: {latent_dim: 2, hidden: 16, depth: 2}}", '"torch.nn:Identity"'
        )
    )
    result = genbench_process(
        "run", str(suite), "--out", str(tmp_path / "run"), "--device", "cpu", "-q", cwd=tmp_path
    )
    assert result.returncode == 3, result.stderr
    assert "tiny: 1 trials: 0 finished, 0 diverged, 1 failed; first error:" in result.stderr
    assert "must return GanParts or VaeParts" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_user_code_ending_the_process_fails_only_its_trial(tmp_path):
    write_module(tmp_path, "user_endings", ENDINGS)
    grid = 'grid:\n  dataset: ["user_endings:exits", "user_endings:interrupts", "user_endings:ring"]\n'
    suite = user_suite(tmp_path, "user_endings:ring", grid=grid)
    out = tmp_path / "run"
    result = genbench_process(
        "run", str(suite), "--out", str(out), "--device", "cpu", "-q", cwd=tmp_path, pythonpath=tmp_path
    )
    assert result.returncode == 3, result.stderr
    table = pd.read_csv(out / "results.csv")
    assert list(table.status) == ["failed", "failed", "finished"]
    assert "SystemExit: the trial's code called sys.exit(0)" in table.error[0]
    assert "KeyboardInterrupt raised by the trial's code" in table.error[1]
    assert (out / "report" / "report.md").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_trial_that_kills_its_worker_is_recorded_and_the_others_go_on(tmp_path, workers):
    """One worker: the lone suspect is recorded. Two: both running trials are suspects, and each
    runs again alone to find the one that dies."""
    write_module(tmp_path, "user_killer", ENDINGS)
    suite = user_suite(
        tmp_path, "user_killer:ring", grid='grid:\n  dataset: ["user_killer:ring", "user_killer:killed"]\n'
    )
    out = tmp_path / "run"
    args = ("run", str(suite), "--out", str(out), "--device", "cpu", "--workers", workers)
    result = genbench_process(*args, cwd=tmp_path, pythonpath=tmp_path)
    assert result.returncode == 3, result.stderr
    survivor, killed = RunStore(out).records()
    assert survivor.status.value == "finished"
    assert killed.status.value == "failed"
    assert "WorkerDied" in killed.error and "out of memory" in killed.error
    if workers == "1":
        again = genbench_process(*args, cwd=tmp_path, pythonpath=tmp_path)
        assert again.returncode == 3
        assert "1 already done, running 1" in again.stderr


# -- item 8: one-line errors for bad options and folders ---------------------------------------


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_workers_below_one_are_refused(write_suite, tmp_path, workers):
    result = runner.invoke(
        app, ["run", str(write_suite(TINY_SUITE)), "--out", str(tmp_path / "r"), "--workers", workers]
    )
    assert result.exit_code == 2
    assert not (tmp_path / "r").exists()


def test_out_on_a_regular_file_is_a_one_line_error(write_suite, tmp_path):
    target = tmp_path / "a_file"
    target.write_text("keep me")
    result = genbench_process(
        "run", str(write_suite(TINY_SUITE)), "--out", str(target), "--device", "cpu", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "is a file, not a folder" in result.stderr and "Traceback" not in result.stderr
    assert target.read_text() == "keep me"


def test_out_where_no_folder_can_be_made_is_a_one_line_error(write_suite, tmp_path):
    result = runner.invoke(app, ["run", str(write_suite(TINY_SUITE)), "--out", "/proc/genbench-no/run"])
    assert result.exit_code == 2
    assert "cannot create the run folder /proc/genbench-no/run" in result.output


def test_another_suites_folder_is_refused_unless_forced(write_suite, tmp_path):
    out = tmp_path / "run"
    first = write_suite(TINY_SUITE, "a.yaml")
    assert runner.invoke(app, ["run", str(first), "--out", str(out), "--device", "cpu", "-q"]).exit_code == 0
    before = (out / "run.json").read_text()
    other = write_suite(TINY_SUITE.replace("name: tiny", "name: other"), "b.yaml")
    refused = runner.invoke(app, ["run", str(other), "--out", str(out), "--device", "cpu", "-q"])
    assert refused.exit_code == 2
    assert "holds a run of suite 'tiny', not 'other'" in refused.output
    assert (out / "run.json").read_text() == before
    forced = runner.invoke(app, ["run", str(other), "--out", str(out), "--device", "cpu", "-q", "--force"])
    assert forced.exit_code == 0, forced.output
    assert json.loads((out / "run.json").read_text())["suite"] == "other"


def test_a_folder_with_other_files_is_refused(write_suite, tmp_path):
    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.tex").write_text("")
    result = runner.invoke(app, ["run", str(write_suite(TINY_SUITE)), "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 2
    assert "is not empty and is not a genbench run folder" in result.output
    assert sorted(path.name for path in out.iterdir()) == ["thesis.tex"]


def test_a_run_that_kept_stale_trials_cannot_be_checked_or_made_a_baseline(tiny_run, tmp_path):
    _, out = copy_of_tiny_run(tiny_run, tmp_path)
    assert runner.invoke(app, ["baseline", str(out), "--out", str(tmp_path / "b.json")]).exit_code == 0
    info = json.loads((out / "run.json").read_text())
    info["stale_reused"] = info["trial_ids"]
    (out / "run.json").write_text(json.dumps(info))
    for command in (["baseline", str(out)], ["check", str(out), "--baseline", str(tmp_path / "b.json")]):
        refused = runner.invoke(app, command)
        assert refused.exit_code == 2
        assert "kept from other code" in refused.output
