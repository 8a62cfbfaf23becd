"""The regression rule: tolerance band and Welch's one-sided test, Holm-corrected; the few-seeds rule."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from genbench.check.rule import RowInput, Verdict, compare_rows, welch_one_sided
from genbench.settings import Tolerance
from genbench.stats import holm

NO_TOLERANCE = Tolerance()


def row(baseline, current, higher_is_better=True, tolerance=NO_TOLERANCE, group="loss=ns", metric="m"):
    return RowInput(group, metric, baseline, current, higher_is_better, tolerance)


def verdict(*args, alpha=0.05, **kwargs):
    return compare_rows([row(*args, **kwargs)], alpha)[0]


def test_holm_adjusts_by_rank_and_keeps_the_order_monotone():
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> raised to 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_welch_p_value_matches_the_textbook_formula():
    baseline, current = [8.0, 7.5, 7.9, 8.1, 7.7], [7.0, 7.6, 6.5, 7.2]
    mean_b, mean_c = sum(baseline) / 5, sum(current) / 4
    var_b = sum((x - mean_b) ** 2 for x in baseline) / 4
    var_c = sum((x - mean_c) ** 2 for x in current) / 3
    se2_b, se2_c = var_b / 5, var_c / 4
    t = (mean_c - mean_b) / math.sqrt(se2_b + se2_c)
    df = (se2_b + se2_c) ** 2 / (se2_b**2 / 4 + se2_c**2 / 3)
    assert welch_one_sided(row(baseline, current), worse=True) == pytest.approx(stats.t.cdf(t, df))
    assert welch_one_sided(row(baseline, current, higher_is_better=False), worse=True) == pytest.approx(
        stats.t.sf(t, df)
    )


def test_constant_samples_differ_for_certain_or_not_at_all():
    assert welch_one_sided(row([8.0] * 5, [7.0] * 5), worse=True) == 0.0
    assert welch_one_sided(row([8.0] * 5, [7.0] * 5), worse=False) == 1.0
    assert welch_one_sided(row([8.0] * 5, [8.0] * 5), worse=True) == 1.0


def test_a_large_significant_drop_regresses():
    result = verdict([8.0, 8.0, 7.9, 8.0, 8.1], [1.0, 1.2, 0.9, 1.0, 1.1])
    assert result.verdict == Verdict.REGRESSED
    assert result.delta == pytest.approx(1.04 - 8.0)
    assert result.p_value < 1e-6


def test_a_significant_drop_within_the_tolerance_band_passes():
    result = verdict([8.0, 8.0, 8.0, 8.0, 8.0], [7.0, 7.0, 7.1, 7.0, 6.9], tolerance=Tolerance(absolute=1.5))
    assert result.p_value < 0.001
    assert result.verdict == Verdict.PASS
    assert result.reason.startswith("worse by 1 <= band 1.5; p=")


def test_a_large_drop_that_seed_noise_explains_passes():
    result = verdict([8.0, 2.0, 7.0, 3.0, 8.0], [2.0, 7.0, 1.0, 6.0, 2.0])
    assert result.delta == pytest.approx(-2.0)
    assert result.p_value > 0.05
    assert result.verdict == Verdict.PASS
    assert result.reason.startswith("worse by 2 > band 0; p=")


def test_lower_is_better_metrics_regress_when_they_rise():
    assert verdict([0.1, 0.12, 0.11], [0.5, 0.52, 0.49], higher_is_better=False).verdict == Verdict.REGRESSED
    assert verdict([0.5, 0.52, 0.49], [0.1, 0.12, 0.11], higher_is_better=False).verdict == Verdict.IMPROVED


def test_a_large_significant_rise_is_an_improvement():
    result = verdict([1.0, 1.2, 0.9, 1.0], [8.0, 8.0, 7.9, 8.0])
    assert result.verdict == Verdict.IMPROVED
    assert result.p_value < 1e-6


def test_the_band_is_the_larger_of_absolute_and_relative_tolerance():
    both = Tolerance(absolute=0.5, relative=0.1)
    assert verdict([8.0] * 3, [7.0] * 3, tolerance=both).band == pytest.approx(0.8)
    assert verdict([2.0] * 3, [1.0] * 3, tolerance=both).band == pytest.approx(0.5)
    assert verdict([-2.0] * 3, [-3.0] * 3, tolerance=Tolerance(relative=0.1)).band == pytest.approx(0.2)


def test_with_fewer_than_three_seeds_the_band_alone_decides_and_says_so():
    tolerance = Tolerance(absolute=1.0)
    regressed = verdict([8.0, 8.0], [6.5, 6.9], tolerance=tolerance)
    assert regressed.verdict == Verdict.REGRESSED
    assert regressed.p_value is None
    assert "fewer than 3 seeds" in regressed.reason
    assert verdict([8.0, 8.0, 8.0], [7.5, 7.1], tolerance=tolerance).verdict == Verdict.PASS


def test_holm_correction_spares_a_lone_borderline_row_among_many():
    borderline = row([8.0, 7.8, 8.1, 7.9, 8.0], [7.6, 7.9, 7.5, 7.8, 7.7])
    alone = compare_rows([borderline], 0.05)[0]
    assert 0.001 < alone.p_value < 0.05 and alone.verdict == Verdict.REGRESSED
    steady = [row([8.0, 7.0, 8.0], [8.0, 7.0, 8.0], group=f"cell{i}") for i in range(20)]
    among_many = compare_rows([borderline, *steady], 0.05)[0]
    assert among_many.p_value == pytest.approx(min(1.0, 21 * alone.p_value))
    assert among_many.verdict == Verdict.PASS


def test_no_value_now_regresses_and_no_value_before_improves():
    assert verdict([8.0, 8.0, 8.0], []).verdict == Verdict.REGRESSED
    assert verdict([], [8.0, 8.0, 8.0]).verdict == Verdict.IMPROVED
    assert verdict([], []).verdict == Verdict.PASS


def test_all_seeds_diverging_regresses_finished():
    finished = verdict([1.0] * 5, [0.0] * 5, metric="finished")
    assert finished.verdict == Verdict.REGRESSED
    one_diverged = verdict([1.0] * 5, [1.0, 1.0, 1.0, 1.0, 0.0], metric="finished")
    assert one_diverged.verdict == Verdict.PASS
