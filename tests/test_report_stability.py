"""Stability summaries: oscillation, mode hopping, best vs final, time to threshold, per group."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from genbench.records import ModeSet, TrialStatus
from genbench.report.data import load_report_data
from genbench.report.stability import group_stability, mode_hopping, oscillation, trial_stability
from genbench.settings import ReportSettings

from .hand_runs import HandTrial, write_trials_run


def test_oscillation_is_the_mean_rolling_std_over_the_tail():
    values = pd.Series([0.0, 5.0, 1.0, 2.0, 4.0, 3.0])
    settings = ReportSettings(tail_fraction=0.5, rolling_window=2)
    # the last half is [2, 4, 3]; windows of two give stds of [2, 4] and [4, 3]
    expected = (np.std([2.0, 4.0], ddof=1) + np.std([4.0, 3.0], ddof=1)) / 2
    assert oscillation(values, settings) == pytest.approx(expected)


def test_a_flat_tail_does_not_oscillate():
    assert oscillation(pd.Series([9.0, 1.0, 5.0, 5.0, 5.0, 5.0]), ReportSettings()) == 0.0


def test_oscillation_needs_two_evaluations_in_the_tail():
    assert math.isnan(oscillation(pd.Series([1.0, 2.0]), ReportSettings(tail_fraction=0.5)))


def mode_sets(*sets):
    return [ModeSet(step=100 * (i + 1), modes=list(modes)) for i, modes in enumerate(sets)]


def test_rotating_through_the_modes_changes_and_drops_at_every_evaluation():
    assert mode_hopping(mode_sets([0, 1], [2, 3], [4, 5], [0, 1])) == (3.0, 6.0)


def test_learning_new_modes_changes_the_set_without_dropping_any():
    assert mode_hopping(mode_sets([0], [0, 1], [0, 1, 2], [0, 1, 2])) == (2.0, 0.0)


@pytest.fixture
def run(tmp_path):
    trials = [
        HandTrial(
            "a0",
            {"loss": "ns"},
            0,
            metrics={"modes_covered": 5.0},
            curves={
                "modes_covered": [2.0, 8.0, 6.0, 5.0],
                "generator_loss": [1.0, 1.0, 1.0, 1.0],
                "generator_grad_norm": [1.0, 4.0, 2.0, 3.0],
            },
            covered_modes=[[0, 1], [0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4]],
            timings={"train_seconds": 50.0},
        ),
        HandTrial(
            "a1",
            {"loss": "ns"},
            1,
            metrics={"modes_covered": 7.0},
            curves={"modes_covered": [1.0, 3.0, 7.0, 7.0], "generator_grad_norm": [2.0, 2.0, 9.0, 2.0]},
            timings={"train_seconds": 100.0},
        ),
        HandTrial(
            "a2",
            {"loss": "ns"},
            2,
            TrialStatus.DIVERGED,
            curves={"modes_covered": [3.0, 4.0]},
            diverged_step=250,
            timings={"train_seconds": 25.0},
        ),
    ]
    report = {
        "success": {"metric": "modes_covered", "threshold": 6},
        "tail_fraction": 1.0,
        "rolling_window": 4,
    }
    return write_trials_run(tmp_path / "run", trials, ["loss"], report)


def test_best_and_final_values_and_the_drop_between_them(run):
    table = trial_stability(load_report_data(run)).set_index("trial")
    assert table.loc["a0", ["best", "final", "drop_from_best"]].tolist() == [8.0, 5.0, 3.0]
    # a diverged trial has a best value from its curve but no final one
    assert table.loc["a2", "best"] == 4.0
    assert math.isnan(table.loc["a2", "final"])


def test_time_to_threshold_is_the_first_evaluation_that_reaches_it(run):
    table = trial_stability(load_report_data(run)).set_index("trial")
    assert table.loc["a0", "steps_to_threshold"] == 200.0
    assert table.loc["a0", "seconds_to_threshold"] == pytest.approx(200 * 50.0 / 1000)
    assert table.loc["a1", "steps_to_threshold"] == 300.0
    assert math.isnan(table.loc["a2", "steps_to_threshold"])


def test_success_requires_a_finished_trial_whose_final_value_meets_the_threshold(run):
    table = trial_stability(load_report_data(run)).set_index("trial")
    # a0 reached 8 modes but ended at 5: success is judged on the final value
    assert table.loc[["a0", "a1", "a2"], "success"].tolist() == [False, True, False]


def test_per_trial_oscillation_and_mode_hopping_come_from_curves_and_mode_sets(run):
    table = trial_stability(load_report_data(run)).set_index("trial")
    assert table.loc["a0", "oscillation"] == pytest.approx(np.std([2.0, 8.0, 6.0, 5.0], ddof=1))
    assert table.loc["a0", "oscillation_generator_loss"] == 0.0
    assert table.loc["a0", ["mode_set_changes", "modes_dropped"]].tolist() == [3.0, 3.0]
    assert math.isnan(table.loc["a1", "mode_set_changes"])


def test_group_summary_combines_the_seeds(run):
    data = load_report_data(run)
    group = group_stability(trial_stability(data), data.group_keys).set_index("group").loc["ns"]
    assert group["median_diverged_step"] == 250
    assert group["final_std"] == pytest.approx(np.std([5.0, 7.0], ddof=1))
    assert group["final_range"] == 2.0
    assert group["steps_to_threshold"] == 250.0  # median of 200 and 300
    assert group["generator_grad_norm_median"] == pytest.approx(np.median([2.5, 2.0]))
    assert group["generator_grad_norm_max"] == 9.0
