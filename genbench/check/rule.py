"""The regression rule: does a metric's change between two sets of seeds exceed seed noise?

In the spirit of asv's "factor and significance", a change counts only when it is both large and
real. For each row (one cell x one metric, with the baseline's and the current run's per-seed
values):

- *large*: the current mean is worse than the baseline mean by more than the tolerance band, the
  larger of the absolute tolerance and the relative tolerance times the baseline mean's magnitude
  (no tolerance: a band of zero);
- *real*: Welch's one-sided t-test (Welch 1947; unequal variances, as two runs need not share one)
  rejects "not worse" at level ``alpha`` after Holm's step-down correction (Holm 1979) over all
  tested rows, so that checking many cells x metrics does not multiply false alarms.

Improvements are decided the same way in the other direction. With fewer than
``MIN_SEEDS_FOR_TEST`` values on a side the t-test means little, so the band alone decides and the
row says so. A rank test is deliberately not used: Mann-Whitney with 5 vs 5 seeds cannot go below
p = 0.004 and so could never pass Holm's correction over a dozen rows. A row whose current side has
no value at all (every seed diverged or failed) regressed; its ``finished`` row shows why.
Torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
from scipy import stats

from genbench.replicates import Summary
from genbench.settings import Tolerance
from genbench.stats import holm

MIN_SEEDS_FOR_TEST = 3


class Verdict(str, Enum):
    PASS = "pass"
    REGRESSED = "regressed"
    IMPROVED = "improved"


@dataclass(frozen=True)
class RowInput:
    group: str
    metric: str
    baseline: Sequence[float]
    current: Sequence[float]
    higher_is_better: bool
    tolerance: Tolerance


@dataclass(frozen=True)
class ComparisonRow:
    group: str
    metric: str
    higher_is_better: bool
    baseline: Summary
    current: Summary
    #: current mean minus baseline mean; None when a side has no value
    delta: float | None
    #: how much worse the current mean may be before the change can count
    band: float
    #: Holm-adjusted one-sided p-value in the direction of the change; None when not tested
    p_value: float | None
    verdict: Verdict
    reason: str

    @property
    def tested(self) -> bool:
        return self.p_value is not None


def compare_rows(rows: Sequence[RowInput], alpha: float) -> list[ComparisonRow]:
    """Decide pass, regressed or improved for every row, with Holm's correction over the rows tested."""
    tested = [i for i, row in enumerate(rows) if testable(row)]
    worse = holm([welch_one_sided(rows[i], worse=True) for i in tested])
    better = holm([welch_one_sided(rows[i], worse=False) for i in tested])
    adjusted = {i: (w, b) for i, w, b in zip(tested, worse, better, strict=True)}
    return [decide(row, adjusted.get(i), alpha) for i, row in enumerate(rows)]


def testable(row: RowInput) -> bool:
    return min(len(row.baseline), len(row.current)) >= MIN_SEEDS_FOR_TEST


def tolerance_band(tolerance: Tolerance, baseline_mean: float) -> float:
    return max(tolerance.absolute or 0.0, (tolerance.relative or 0.0) * abs(baseline_mean))


def welch_one_sided(row: RowInput, worse: bool) -> float:
    """p-value of Welch's t-test for "the current mean is worse" (or better, with ``worse=False``)."""
    current, baseline = np.asarray(row.current, float), np.asarray(row.baseline, float)
    lower = worse == row.higher_is_better
    if np.ptp(current) == 0 and np.ptp(baseline) == 0:
        # t is undefined without spread; two constant samples either differ for certain or not at all
        difference = current[0] - baseline[0]
        return 0.0 if (difference < 0 if lower else difference > 0) else 1.0
    # from summaries, because scipy's moment code warns about a constant side, which is legitimate here
    result = stats.ttest_ind_from_stats(
        current.mean(),
        current.std(ddof=1),
        len(current),
        baseline.mean(),
        baseline.std(ddof=1),
        len(baseline),
        equal_var=False,
        alternative="less" if lower else "greater",
    )
    return float(result.pvalue)


def decide(row: RowInput, adjusted: tuple[float, float] | None, alpha: float) -> ComparisonRow:
    """``adjusted`` holds the Holm-adjusted p-values (worse, better); None for an untested row."""
    baseline, current = Summary.of(list(row.baseline)), Summary.of(list(row.current))
    if baseline.mean is None or current.mean is None:
        verdict, reason = missing_values_verdict(baseline, current)
        return ComparisonRow(
            row.group, row.metric, row.higher_is_better, baseline, current, None, 0.0, None, verdict, reason
        )
    delta = current.mean - baseline.mean
    worsening = -delta if row.higher_is_better else delta
    band = tolerance_band(row.tolerance, baseline.mean)
    beyond = abs(worsening) > band
    if adjusted is None:
        p_value, significant = None, True
        test = f"fewer than {MIN_SEEDS_FOR_TEST} seeds on a side: the tolerance band alone decides"
    else:
        p_value = adjusted[0] if worsening >= 0 else adjusted[1]
        significant = p_value < alpha
        test = f"p={p_value:.2g} {'<' if significant else '>='} alpha={alpha:g}"
    verdict = Verdict.PASS
    if beyond and significant:
        verdict = Verdict.REGRESSED if worsening > 0 else Verdict.IMPROVED
    reason = f"{describe_change(worsening)} {'>' if beyond else '<='} band {band:.3g}; {test}"
    return ComparisonRow(
        row.group, row.metric, row.higher_is_better, baseline, current, delta, band, p_value, verdict, reason
    )


def describe_change(worsening: float) -> str:
    if worsening == 0:
        return "unchanged"
    return f"{'worse' if worsening > 0 else 'better'} by {abs(worsening):.3g}"


def missing_values_verdict(baseline: Summary, current: Summary) -> tuple[Verdict, str]:
    """A metric has no value on a side when every seed there diverged or failed."""
    if current.n:
        return Verdict.IMPROVED, "the baseline has no value (all its seeds diverged or failed)"
    if baseline.n:
        return Verdict.REGRESSED, "no value now: every seed diverged or failed"
    return Verdict.PASS, "no value on either side"


def rule_text(alpha: float, tests: int) -> str:
    """The rule in one paragraph, printed under every table so a reader need not look it up."""
    tested = (
        f"Welch's one-sided t-test is significant at alpha={alpha:g} after Holm's correction over the "
        f"{tests} rows with at least {MIN_SEEDS_FOR_TEST} seeds on both sides; rows with fewer seeds "
        "are decided by the tolerance band alone."
        if tests
        else f"(no row has {MIN_SEEDS_FOR_TEST} seeds on both sides, so the tolerance band alone decides)."
    )
    return (
        "A row regressed when the current mean is worse than the baseline mean by more than the "
        "tolerance band (max of the absolute tolerance and relative tolerance x |baseline mean|) and "
        f"{tested} Improvements are decided the same way. Metrics count finished seeds only; "
        "'finished' is the share of seeds that neither diverged nor failed."
    )
