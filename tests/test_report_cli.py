"""`genbench report`: rebuilds a run's report; user errors exit with code 2 and a message."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from genbench.cli import app
from genbench.report.build import HTML_FILE, REPORT_DIR

from .hand_runs import HandTrial, write_trials_run

runner = CliRunner()


@pytest.fixture
def run(tmp_path):
    trials = [
        HandTrial(f"{loss}{seed}", {"loss": loss, "optimizer": "adam"}, seed, metrics={"recall": 0.1 * seed})
        for loss in ("ns", "hinge")
        for seed in range(2)
    ]
    return write_trials_run(tmp_path / "run", trials, ["loss", "optimizer"], {"metric": "recall"})


def test_report_writes_the_document_and_prints_its_path(run):
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(run / REPORT_DIR / HTML_FILE)
    assert (run / REPORT_DIR / HTML_FILE).is_file()


def test_group_by_and_metric_override_the_suite_settings(run):
    result = runner.invoke(app, ["report", str(run), "--group-by", "optimizer", "--metric", "recall"])
    assert result.exit_code == 0, result.output
    markdown = (run / REPORT_DIR / "report.md").read_text()
    assert "in 1 group by optimizer" in markdown


def test_a_folder_that_is_not_a_run_is_a_user_error(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a genbench run folder" in result.output


def test_an_unknown_metric_is_a_user_error_that_lists_the_metrics(run):
    result = runner.invoke(app, ["report", str(run), "--metric", "fid"])
    assert result.exit_code == 2
    assert "metric 'fid' is not among the run's final metrics" in result.output
    assert "recall" in result.output


def test_a_metric_without_a_better_direction_cannot_be_the_headline(tmp_path):
    """Groups are ranked by the headline metric: a spread such as isc_std has no better side, and
    the report says so rather than guessing 'higher'."""
    values = {"isc_mean": 8.0, "isc_std": 0.1}
    trials = [HandTrial(f"t{seed}", {"loss": "ns"}, seed, metrics=values) for seed in range(2)]
    run = write_trials_run(tmp_path / "run", trials, ["loss"], {"metric": "isc_mean"})
    result = runner.invoke(app, ["report", str(run), "--metric", "isc_std"])
    assert result.exit_code == 2
    assert "--metric 'isc_std' has no better direction" in result.output
    assert "choose one of: isc_mean" in result.output


def test_an_unknown_group_key_is_a_user_error(run):
    result = runner.invoke(app, ["report", str(run), "--group-by", "lr"])
    assert result.exit_code == 2
    assert "unknown group key 'lr'" in result.output


def test_a_suite_metric_the_results_lack_falls_back_to_another_with_a_note(tmp_path):
    trials = [HandTrial(f"t{seed}", {"loss": "ns"}, seed, metrics={"precision": 0.5}) for seed in range(2)]
    run = write_trials_run(tmp_path / "run", trials, ["loss"])  # report.metric defaults to modes_covered
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    markdown = (run / REPORT_DIR / "report.md").read_text()
    assert (
        "report.metric 'modes_covered' is not among the final metrics; showing precision instead" in markdown
    )
    assert "## Headline metric: precision" in markdown
