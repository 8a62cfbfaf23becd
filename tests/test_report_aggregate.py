"""Aggregation across seeds: the statistics of a group's final values, and outcome rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from genbench.records import TrialStatus
from genbench.report.aggregate import aggregate_metrics, outcome_rates
from genbench.report.data import load_report_data
from genbench.report.stability import trial_stability

from .hand_runs import RING8, HandTrial, write_trials_run

NS_MODES = [8.0, 7.0, 8.0, 6.0, 8.0]
HINGE_MODES = [3.0, 4.0, 2.0, 5.0]


@pytest.fixture
def run(tmp_path):
    """ns: five finished seeds; hinge: four finished, one diverged, one failed."""
    trials = [
        HandTrial(f"ns{seed}", {"loss": "ns"}, seed, metrics={"modes_covered": v}, mode_centres=RING8)
        for seed, v in enumerate(NS_MODES)
    ]
    trials += [
        HandTrial(f"hinge{seed}", {"loss": "hinge"}, seed, metrics={"modes_covered": v}, mode_centres=RING8)
        for seed, v in enumerate(HINGE_MODES)
    ]
    trials.append(
        HandTrial("hinge4", {"loss": "hinge"}, 4, TrialStatus.DIVERGED, diverged_step=300, mode_centres=RING8)
    )
    trials.append(HandTrial("hinge5", {"loss": "hinge"}, 5, TrialStatus.FAILED, error="RuntimeError: boom"))
    return write_trials_run(tmp_path / "run", trials, ["loss"])


def row(frame, group, metric="modes_covered"):
    return frame[(frame["group"] == group) & (frame["metric"] == metric)].iloc[0]


def test_seed_statistics_match_numpy(run):
    ns = row(aggregate_metrics(load_report_data(run)), "ns")
    values = np.array(NS_MODES)
    middle = np.sort(values)[1:-1]  # 25% of 5 seeds rounds down to one cut at each end
    assert ns["n"] == 5
    assert ns["mean"] == pytest.approx(values.mean())
    assert ns["std"] == pytest.approx(values.std(ddof=1))
    assert ns["median"] == 8.0
    assert ns["iqm"] == pytest.approx(middle.mean())
    assert (ns["min"], ns["max"]) == (6.0, 8.0)


def test_mean_interval_is_scipys_percentile_bootstrap_with_the_report_seed(run):
    ns = row(aggregate_metrics(load_report_data(run)), "ns")
    expected = stats.bootstrap(
        (np.array(NS_MODES),),
        np.mean,
        n_resamples=200,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(0),
    ).confidence_interval
    assert (ns["ci_low"], ns["ci_high"]) == pytest.approx((expected.low, expected.high))


def test_aggregation_is_deterministic(run):
    first = aggregate_metrics(load_report_data(run))
    second = aggregate_metrics(load_report_data(run))
    assert first.equals(second)


def test_diverged_and_failed_trials_give_no_final_values(run):
    hinge = row(aggregate_metrics(load_report_data(run)), "hinge")
    assert hinge["n"] == 4
    assert hinge["mean"] == pytest.approx(np.mean(HINGE_MODES))


def wilson(successes: int, n: int, z: float = stats.norm.ppf(0.975)) -> tuple[float, float]:
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def test_divergence_and_failure_rates_carry_wilson_intervals(run):
    data = load_report_data(run)
    hinge = outcome_rates(trial_stability(data), data.group_keys, 0.95).set_index("group").loc["hinge"]
    assert (hinge["trials"], hinge["finished"], hinge["diverged"], hinge["failed"]) == (6, 4, 1, 1)
    # a failed trial crashed outside training: it counts towards the failed share only
    assert hinge["diverged_share"] == pytest.approx(1 / 5)
    assert (hinge["diverged_share_low"], hinge["diverged_share_high"]) == pytest.approx(wilson(1, 5))
    assert hinge["failed_share"] == pytest.approx(1 / 6)
    assert (hinge["failed_share_low"], hinge["failed_share_high"]) == pytest.approx(wilson(1, 6))


def test_success_defaults_to_all_true_modes_covered(run):
    data = load_report_data(run)
    rates = outcome_rates(trial_stability(data), data.group_keys, 0.95).set_index("group")
    assert rates.loc["ns", "success_rate"] == pytest.approx(3 / 5)
    # the diverged seed counts as unsuccessful, the failed one not at all
    assert rates.loc["hinge", "success_rate"] == 0.0
    assert (rates.loc["hinge", "success_rate_low"], rates.loc["hinge", "success_rate_high"]) == pytest.approx(
        wilson(0, 5)
    )
