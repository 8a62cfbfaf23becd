"""Runs that did not train (``train.steps: 0``: a pretrained generator, an untrained model) get a
report, and so do runs where no trial finished: every report stage copes with a single evaluation
per trial and with no results at all (issue 8, item 6)."""

from __future__ import annotations

import math
import textwrap

import pandas as pd
import pytest
from typer.testing import CliRunner

from genbench.cli import app
from genbench.records import TrialStatus
from genbench.report.build import HTML_FILE, MARKDOWN_FILE, REPORT_DIR

from .conftest import genbench_process
from .generators import export_sampler
from .hand_runs import RING8, HandTrial, write_trials_run

runner = CliRunner()
#: the installed command, as a user runs it
#: modes_covered of every true mode of ring8: the success criterion of the suites below
SUCCESS = {"success": {"metric": "modes_covered", "threshold": 8}}

PRETRAINED_SUITE = """
name: saved
dataset: ring8
model:
  name: pretrained
  params: {format: export, path: perfect.pt2, latent_dim: 3}
train: {steps: 0, eval_samples: 2000}
metrics: [modes, prdc]
report: {success: {metric: modes_covered, threshold: 8}}
"""

UNTRAINED_SUITE = """
name: untrained
dataset: ring8
model: {name: mlp_gan, params: {latent_dim: 2, hidden: 16, depth: 2}}
loss: ns
optimizer: {name: adam, lr: 1.0e-3}
train: {steps: 0, batch_size: 32, eval_samples: 256}
metrics: [modes, prdc]
report: {success: {metric: modes_covered, threshold: 8}}
grid: {seed: [0, 1]}
"""


def trial_table(run) -> pd.DataFrame:
    return pd.read_csv(run / REPORT_DIR / "tables" / "stability_trials.csv")


def test_a_pretrained_generator_that_meets_the_criterion_is_reported_as_reaching_it_at_once(tmp_path):
    export_sampler(tmp_path / "perfect.pt2")
    suite = tmp_path / "suite.yaml"
    suite.write_text(textwrap.dedent(PRETRAINED_SUITE).lstrip())
    run = tmp_path / "run"
    done = genbench_process("run", suite, "--out", run, "--device", "cpu", "--quiet", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert (run / REPORT_DIR / HTML_FILE).is_file()
    (row,) = trial_table(run).to_dict("records")
    # evaluated before any training step: reached at step 0, after 0 seconds of training
    assert (row["success"], row["steps_to_threshold"], row["seconds_to_threshold"]) == (True, 0, 0)


def test_an_untrained_model_gets_every_report_stage_from_its_single_evaluation(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(textwrap.dedent(UNTRAINED_SUITE).lstrip())
    run = tmp_path / "run"
    result = runner.invoke(app, ["run", str(suite), "--out", str(run), "--device", "cpu", "--workers", "1"])
    assert result.exit_code == 0, result.output
    report = run / REPORT_DIR
    assert (report / HTML_FILE).is_file()
    assert {"metric_curves.png", "final_distribution.png", "samples.png"} <= {
        path.name for path in (report / "figures").iterdir()
    }
    rows = trial_table(run)
    assert list(rows["status"]) == ["finished", "finished"]
    # one evaluation: no swing to measure
    assert rows["oscillation"].isna().all()
    for row in rows.to_dict("records"):
        if row["success"]:
            assert (row["steps_to_threshold"], row["seconds_to_threshold"]) == (0, 0)
        else:
            assert math.isnan(row["steps_to_threshold"]) and math.isnan(row["seconds_to_threshold"])


def hand_run(tmp_path, trials: list[HandTrial]):
    return write_trials_run(tmp_path / "run", trials, ["loss"], {**SUCCESS, "metric": "modes_covered"})


def test_a_run_whose_trials_all_diverged_at_step_0_is_reported(tmp_path):
    trials = [
        HandTrial(
            f"diverged{seed}",
            {"loss": "ns"},
            seed,
            TrialStatus.DIVERGED,
            curves={"modes_covered": [1.0]},
            diverged_step=0,
            timings={"train_seconds": 0.5},
            mode_centres=RING8,
        )
        for seed in range(2)
    ]
    result = runner.invoke(app, ["report", str(hand_run(tmp_path, trials))])
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "run" / REPORT_DIR / MARKDOWN_FILE).read_text()
    assert "2 of 2 trials recorded (0 finished, 2 diverged, 0 failed)" in markdown
    rows = trial_table(tmp_path / "run")
    assert not rows["success"].any()
    assert rows["seconds_to_threshold"].isna().all()


def test_a_run_whose_trials_all_failed_is_reported_with_their_errors(tmp_path):
    trials = [
        HandTrial(f"failed{seed}", {"loss": "ns"}, seed, TrialStatus.FAILED, error="RuntimeError: planted")
        for seed in range(2)
    ]
    result = runner.invoke(app, ["report", str(hand_run(tmp_path, trials))])
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "run" / REPORT_DIR / MARKDOWN_FILE).read_text()
    assert "2 of 2 trials recorded (0 finished, 0 diverged, 2 failed)" in markdown
    assert "## Failed and diverged trials" in markdown
    assert markdown.count("RuntimeError: planted") == 2


@pytest.mark.parametrize("steps", [0, 1000])
def test_a_finished_run_that_met_the_criterion_at_step_0_took_no_seconds_to_reach_it(tmp_path, steps):
    trials = [
        HandTrial(
            f"t{seed}",
            {"loss": "ns"},
            seed,
            metrics={"modes_covered": 8.0},
            curves={"modes_covered": [8.0]},
            timings={"train_seconds": 10.0},
            mode_centres=RING8,
            steps=steps,
        )
        for seed in range(2)
    ]
    run = hand_run(tmp_path, trials)
    # the hand-built curves start at step 100; a pretrained run evaluates at step 0
    for trial in trials:
        (run / "trials" / trial.id / "curves.csv").write_text("step,metric,value\n0,modes_covered,8.0\n")
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    rows = trial_table(run)
    assert list(rows["steps_to_threshold"]) == [0, 0]
    assert list(rows["seconds_to_threshold"]) == [0, 0]
