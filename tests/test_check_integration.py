"""The check end to end on real training: suites/ci_regression.yaml against the committed baseline.

Fresh seeds of the same code pass; a mismatched suite, a corrupted baseline and metrics computed
under another protocol give exit 2. (Planted regressions: test_check_planted.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from genbench.check.baseline import load_baseline
from genbench.check.protocol import spec_protocol
from genbench.cli import app
from genbench.suite import load_suite

from .regressions import CI_BASELINE, CI_SUITE, GROUPS, run_variant

#: most tests here train copies of the CI suite (tens of seconds on 2 cores)
pytestmark = pytest.mark.slow


def check(*args):
    return CliRunner().invoke(app, ["check", *map(str, args)])


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory) -> Path:
    return run_variant(tmp_path_factory.mktemp("fresh"), "ci_fresh_seeds", [5, 6, 7, 8, 9])


def test_the_committed_baseline_is_of_the_committed_suite():
    suite, baseline = load_suite(CI_SUITE), load_baseline(CI_BASELINE)
    assert set(baseline.cells) == GROUPS
    for trial in suite.trials:
        cell = baseline.cells[f"loss={trial.grid['loss']}"]
        protocol = spec_protocol(trial.spec.model_dump(mode="json"))
        assert cell.protocol == protocol, "write the baseline again: the suite changed"
        assert trial.spec.seed in [seed.seed for seed in cell.seeds]
    assert list(baseline.metrics) == sorted(["finished", *suite.check.metrics])
    for metric, tolerance in suite.check.tolerances.items():
        assert baseline.metrics[metric].tolerance == tolerance
    assert baseline.alpha == suite.check.alpha


def test_fresh_seeds_of_the_same_code_pass(fresh_run):
    result = check(fresh_run, "--baseline", CI_BASELINE, "--allow-suite-change")
    assert result.exit_code == 0, result.output
    assert "passed: 8 pass" in result.output


def test_a_run_of_another_suite_is_refused_without_allow_suite_change(fresh_run):
    result = check(fresh_run, "--baseline", CI_BASELINE)
    assert result.exit_code == 2
    assert "the suite changed" in result.output


def test_a_corrupted_baseline_is_refused(fresh_run, tmp_path):
    corrupted = tmp_path / "corrupted.json"
    corrupted.write_text(CI_BASELINE.read_text().replace('"n": 5', '"n": 4', 1))
    result = check(fresh_run, "--baseline", corrupted, "--allow-suite-change")
    assert result.exit_code == 2
    assert "is not a valid baseline" in result.output


def test_metrics_computed_on_fewer_samples_are_refused(tmp_path):
    # an untrained evaluation suffices: the protocol, not the values, makes the input unusable
    untrained = [("steps: 800", "steps: 0"), ("eval_samples: 1000", "eval_samples: 500")]
    run = run_variant(tmp_path, "ci_fewer_samples", [0, 1, 2], *untrained, workers=1)
    result = check(run, "--baseline", CI_BASELINE, "--allow-suite-change")
    assert result.exit_code == 2
    assert "computed differently now (eval_samples 1000 -> 500" in result.output
