"""Pairwise comparison with a reference group: Mann-Whitney U, Holm, probability of improvement."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from genbench.errors import GenbenchError
from genbench.report.data import load_report_data
from genbench.report.pairwise import (
    BETTER,
    NO_DIFFERENCE,
    REFERENCE,
    compare_with_reference,
    probability_of_improvement,
    smallest_p_value,
    underpowered_sizes,
)

from .conftest import genbench_process
from .hand_runs import HandTrial, write_trials_run


def test_probability_of_improvement_is_u_over_the_number_of_pairs():
    x, y = np.array([3.0, 5.0, 5.0, 8.0, 2.0]), np.array([5.0, 1.0, 4.0, 4.0])
    u = stats.mannwhitneyu(x, y).statistic
    assert probability_of_improvement(x, y) == pytest.approx(u / (len(x) * len(y)))


def groups_run(tmp_path, values: dict[str, list[float]], metric="modes_covered", report=None, protocol=None):
    trials = [
        HandTrial(f"{loss}{seed}", {"loss": loss}, seed, metrics={metric: v}, protocol=protocol or {})
        for loss, seeds in values.items()
        for seed, v in enumerate(seeds)
    ]
    return write_trials_run(tmp_path / "run", trials, ["loss"], {"metric": metric, **(report or {})})


def test_a_clearly_better_group_is_significant_after_holm_and_an_equal_one_is_not(tmp_path):
    run = groups_run(
        tmp_path,
        {
            "ref": [3.0, 4.0, 5.0, 3.0, 4.0, 5.0],
            "same": [4.0, 3.0, 5.0, 4.0, 3.0, 5.0],
            "better": [8.0, 8.0, 7.0, 8.0, 8.0, 7.0],
        },
    )
    table = compare_with_reference(load_report_data(run)).set_index("group")
    assert table["verdict"]["ref"] == REFERENCE
    assert set(table["reference"]) == {"ref"}
    # 6 vs 6 seeds with no overlap: the exact two-sided p is 2 / C(12, 6); Holm doubles it
    assert table.loc["better", "p_value"] == pytest.approx(2 / math.comb(12, 6))
    assert table.loc["better", "p_holm"] == pytest.approx(4 / math.comb(12, 6))
    assert table.loc["better", "prob_improvement"] == 1.0
    assert table.loc["better", "verdict"] == BETTER
    assert table.loc["same", "prob_improvement"] == pytest.approx(0.5)
    assert table.loc["same", "verdict"] == NO_DIFFERENCE


def test_for_a_lower_is_better_metric_lower_values_are_the_improvement(tmp_path):
    run = groups_run(
        tmp_path, {"ref": [2.0, 2.1, 1.9, 2.0, 2.2], "better": [0.1, 0.2, 0.1, 0.3, 0.2]}, metric="mode_kl"
    )
    better = compare_with_reference(load_report_data(run)).set_index("group").loc["better"]
    assert better["prob_improvement"] == 1.0
    assert better["verdict"] == BETTER
    assert better["median"] == pytest.approx(0.2)


def test_fewer_than_five_seeds_are_flagged_underpowered(tmp_path):
    run = groups_run(tmp_path, {"ref": [1.0, 2.0, 3.0], "other": [7.0, 8.0, 9.0], "more": [1.0] * 5})
    table = compare_with_reference(load_report_data(run))
    other = table.set_index("group").loc["other"]
    # 3 vs 3 seeds with no overlap: the smallest p a two-sided rank test can reach, not significant
    assert other["p_value"] == pytest.approx(0.1) == smallest_p_value(3, 3)
    assert other["verdict"] == NO_DIFFERENCE
    assert underpowered_sizes(table) == [(3, 3), (5, 3)]


def test_probability_of_improvement_interval_is_a_seeded_bootstrap(tmp_path):
    run = groups_run(tmp_path, {"ref": [1.0, 3.0, 2.0, 5.0], "other": [2.0, 4.0, 6.0, 3.0]})
    other = compare_with_reference(load_report_data(run)).set_index("group").loc["other"]
    expected = stats.bootstrap(
        (np.array([2.0, 4.0, 6.0, 3.0]), np.array([1.0, 3.0, 2.0, 5.0])),
        probability_of_improvement,
        n_resamples=200,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(0),
    ).confidence_interval
    assert (other["prob_improvement_low"], other["prob_improvement_high"]) == pytest.approx(
        (expected.low, expected.high)
    )


def two_dataset_run(tmp_path, report=None):
    trials = [
        HandTrial(
            f"{dataset}-{loss}{seed}",
            {"dataset": dataset, "loss": loss},
            seed,
            metrics={"modes_covered": float(seed)},
            protocol={"reference": dataset},
        )
        for dataset in ("ring8", "grid25")
        for loss in ("ns", "hinge", "lsgan")
        for seed in range(3)
    ]
    return write_trials_run(tmp_path / "run", trials, ["dataset", "loss"], report)


def test_groups_are_compared_only_with_a_reference_under_the_same_protocol(tmp_path):
    table = compare_with_reference(load_report_data(two_dataset_run(tmp_path))).set_index("group")
    assert table["reference"].to_dict() == {
        "ring8 / ns": "ring8 / ns",
        "grid25 / ns": "grid25 / ns",
        "ring8 / hinge": "ring8 / ns",
        "ring8 / lsgan": "ring8 / ns",
        "grid25 / hinge": "grid25 / ns",
        "grid25 / lsgan": "grid25 / ns",
    }


def test_a_partial_reference_label_picks_the_matching_group_in_each_stratum(tmp_path):
    run = two_dataset_run(tmp_path, {"reference": "hinge"})
    table = compare_with_reference(load_report_data(run)).set_index("group")
    assert table.loc["ring8 / lsgan", "reference"] == "ring8 / hinge"
    assert table.loc["grid25 / ns", "reference"] == "grid25 / hinge"


def test_a_reference_that_matches_no_group_is_a_user_error(tmp_path):
    run = two_dataset_run(tmp_path, {"reference": "wgan"})
    with pytest.raises(GenbenchError, match=r"report\.reference 'wgan' matches no group"):
        compare_with_reference(load_report_data(run))


def two_metric_run(tmp_path):
    """ns and wgan-gp alike in modes covered, wgan-gp clearly worse in mode KL."""
    trials = [
        HandTrial(
            f"{loss}{seed}",
            {"loss": loss},
            seed,
            metrics={
                "modes_covered": 8.0 - seed % 2,
                "mode_kl": (0.05 if loss == "ns" else 0.5) + 0.01 * seed,
            },
        )
        for loss in ("ns", "wgan-gp")
        for seed in range(6)
    ]
    return write_trials_run(tmp_path / "run", trials, ["loss"], {"compare": ["mode_kl"]})


def test_compared_metrics_share_one_holm_family(tmp_path):
    table = compare_with_reference(load_report_data(two_metric_run(tmp_path)))
    tested = table[table["verdict"] != REFERENCE].set_index("metric")
    assert list(table["metric"]) == ["modes_covered", "modes_covered", "mode_kl", "mode_kl"]
    # mode KL: 6 vs 6 seeds with no overlap, the exact p; Holm over the two tests of the table
    assert tested.loc["mode_kl", "p_value"] == pytest.approx(2 / math.comb(12, 6))
    assert tested.loc["mode_kl", "p_holm"] == pytest.approx(4 / math.comb(12, 6))
    assert tested.loc["mode_kl", "verdict"] == "worse"
    assert tested.loc["modes_covered", "verdict"] == NO_DIFFERENCE


def test_the_report_headline_names_the_significant_differences(tmp_path):
    run = two_metric_run(tmp_path)
    result = genbench_process("report", str(run))
    assert result.returncode == 0, result.stderr
    text = (run / "report" / "report.md").read_text()
    headline = text.split("## Headline metric", 1)[1].split("\n## ", 1)[0]
    assert "Significant differences (Holm p < 0.05, in modes_covered, mode_kl):" in headline
    assert "wgan-gp is worse than ns in mode_kl (median 0.525 vs 0.075" in headline


def test_the_headline_says_when_no_difference_is_significant(tmp_path):
    run = groups_run(tmp_path, {"ref": [3.0, 4.0, 5.0, 3.0, 4.0], "same": [4.0, 3.0, 5.0, 4.0, 3.0]})
    assert genbench_process("report", str(run)).returncode == 0
    text = (run / "report" / "report.md").read_text()
    assert "No group differs significantly from its reference in modes_covered (Holm p < 0.05)." in text
