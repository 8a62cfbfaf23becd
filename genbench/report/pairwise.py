"""Pairwise comparison of groups with a reference group, on final metrics, across seeds.

The headline metric is compared, and the suite's ``report.compare`` metrics beside it (mode KL
and the high-quality fraction beside modes covered, say); Holm's adjustment covers them all.

For each group, its finished seeds' values are tested against the reference group's with the
two-sided Mann-Whitney U test (Mann & Whitney 1947): rank-based, so one diverging seed cannot
dominate, and free of any normality assumption that a handful of seeds could not check. The
p-value comes from the exact permutation distribution (enumerated for small groups, a seeded
Monte Carlo sample for large ones), which, unlike the normal approximation, stays exact when
values tie, as counts such as ``modes_covered`` often do. The p-values of all comparisons in the
table are adjusted by Holm's step-down procedure (Holm 1979), which controls the family-wise error
rate for any dependence between the tests.

The effect size is the probability of improvement P(X > Y) + P(X = Y) / 2 = U / (n_x n_y)
(Agarwal et al. 2021): the chance that a random seed of the group beats a random seed of the
reference, oriented by the metric's better direction, with a percentile bootstrap interval.

Values are comparable only under the same protocol (reference set, sample counts, feature space):
``modes_covered`` out of 8 on ring8 and out of 25 on grid25 are not. Groups are therefore compared
only with the reference of their own *stratum*, the groups whose records share the metric's
protocol. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from genbench.catalog import HIGHER_IS_BETTER
from genbench.errors import GenbenchError
from genbench.replicates import GROUP_SEPARATOR, protocol_key
from genbench.report.aggregate import finished_values
from genbench.report.data import GROUP, ReportData
from genbench.settings import ReportSettings
from genbench.stats import holm

#: fewer seeds than this per group make the comparison underpowered (a rank test on 3 vs 3 seeds
#: cannot reach p < 0.1)
MIN_SEEDS_FOR_POWER = 5
#: permutations of the Monte Carlo p-value when the exact distribution has more arrangements
PERMUTATIONS = 9999

BETTER = "better"
WORSE = "worse"
NO_DIFFERENCE = "no significant difference"
NOT_TESTED = "not tested"
REFERENCE = "reference"
#: the column naming the metric a comparison row tests
METRIC = "metric"


def probability_of_improvement(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 over all pairs; vectorized along ``axis`` for the bootstrap."""
    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)[..., :, None]
    y = np.moveaxis(np.asarray(y, dtype=float), axis, -1)[..., None, :]
    return ((x > y) + 0.5 * (x == y)).mean(axis=(-2, -1))


def improvement_interval(x: np.ndarray, y: np.ndarray, settings: ReportSettings) -> tuple[float, float]:
    """Percentile bootstrap interval of the probability of improvement, resampling each side."""
    if min(len(x), len(y)) < 2:
        return math.nan, math.nan
    result = stats.bootstrap(
        (x, y),
        probability_of_improvement,
        n_resamples=settings.bootstrap_resamples,
        confidence_level=settings.confidence,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(settings.bootstrap_seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def mann_whitney(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """(U of x, exact or Monte Carlo permutation two-sided p-value)."""
    if np.ptp(np.concatenate([x, y])) == 0:
        return len(x) * len(y) / 2, 1.0
    method = stats.PermutationMethod(n_resamples=PERMUTATIONS, rng=np.random.default_rng(seed))
    result = stats.mannwhitneyu(x, y, alternative="two-sided", method=method)
    return float(result.statistic), float(result.pvalue)


def smallest_p_value(n_x: int, n_y: int) -> float:
    """The smallest two-sided p-value a rank test can reach with these group sizes."""
    return min(1.0, 2 / math.comb(n_x + n_y, n_x))


def stratum(data: ReportData, trial_ids: Sequence[str], metric: str) -> str:
    """The metric's protocol key in the group's first finished record (identical across its seeds)."""
    for trial_id in trial_ids:
        protocol = data.records[trial_id].protocols.get(metric)
        if protocol is not None:
            return protocol_key(protocol)
    return ""


def matches_reference(labels: Sequence[str], reference: str) -> bool:
    """A reference names a group by some or all of its labels, joined like group labels."""
    return set(reference.split(GROUP_SEPARATOR)) <= set(labels)


def reference_groups(data: ReportData, metric: str) -> dict[str, str]:
    """group -> the reference group it is compared with on ``metric`` (none for groups of a stratum
    without one).

    The reference is, within each stratum, the first group in the suite's order that matches the
    suite's ``report.reference`` (for example ``ns`` picks the first group whose loss is ``ns``), or
    the stratum's first group when the suite names none.
    """
    reference = data.settings.reference
    first = data.trials.groupby(GROUP, sort=False).first()
    trial_ids = data.trials.groupby(GROUP, sort=False)["trial"].apply(list)
    strata: dict[str, list[str]] = {}
    for group in data.groups:
        strata.setdefault(stratum(data, trial_ids[group], metric), []).append(group)
    if reference is not None and not any(
        matches_reference(first.loc[group, data.group_keys].tolist(), reference) for group in data.groups
    ):
        raise GenbenchError(
            f"report.reference '{reference}' matches no group; groups are: " + "; ".join(data.groups)
        )
    assignment = {}
    for groups in strata.values():
        candidates = [
            group
            for group in groups
            if reference is None or matches_reference(first.loc[group, data.group_keys].tolist(), reference)
        ]
        if candidates:
            assignment.update({group: candidates[0] for group in groups})
    return assignment


def compared_metrics(data: ReportData) -> list[str]:
    """The headline metric, then the suite's ``report.compare`` metrics that the run recorded."""
    further = [
        metric
        for metric in data.settings.compare
        if metric in data.metrics and metric in HIGHER_IS_BETTER and metric != data.metric
    ]
    return [data.metric, *further]


def compare_with_reference(data: ReportData) -> pd.DataFrame:
    """One row per compared metric and group, in the suite's order: sizes, medians, U, p, Holm p,
    P(improvement) and the verdict against its reference; a reference group's own row has the
    verdict ``reference``. Holm's adjustment runs over every test of the table, all metrics
    together: the family is what the report lets a reader conclude from."""
    if data.trials.empty:
        return pd.DataFrame()
    rows = [row for metric in compared_metrics(data) for row in metric_rows(data, metric)]
    tested = [i for i, row in enumerate(rows) if not math.isnan(row["p_value"])]
    for i, adjusted in zip(tested, holm([rows[i]["p_value"] for i in tested]), strict=True):
        rows[i]["p_holm"] = adjusted
        rows[i]["verdict"] = verdict(adjusted, rows[i]["prob_improvement"], data.settings.alpha)
    return pd.DataFrame(rows)


def metric_rows(data: ReportData, metric: str) -> list[dict]:
    """The unadjusted comparison rows of ``metric``, one per group."""
    references = reference_groups(data, metric)
    sign = 1.0 if metric_is_higher_better(data, metric) else -1.0
    values = {
        group: sign * finished_values(trials, metric).to_numpy()
        for group, trials in data.trials.groupby(GROUP, sort=False)
    }
    keys = data.trials.groupby(GROUP, sort=False).first()[data.group_keys]
    rows = []
    for group in data.groups:
        reference = references.get(group)
        if reference == group:
            row = {**untested_row(values[group], values[group], group, sign), "verdict": REFERENCE}
        else:
            row = comparison_row(values[group], reference, values, sign, data.settings)
        rows.append({METRIC: metric, GROUP: group, **keys.loc[group].to_dict(), **row})
    return rows


def metric_is_higher_better(data: ReportData, metric: str) -> bool:
    return data.higher_is_better if metric == data.metric else HIGHER_IS_BETTER[metric]


def significant_findings(comparison: pd.DataFrame) -> list[str]:
    """One sentence per significant row: what differs from its reference, on which metric, with the
    medians and the Holm-adjusted p (the report's headline names them)."""
    if comparison.empty:
        return []
    significant = comparison[comparison["verdict"].isin((BETTER, WORSE))]
    return [
        f"{row[GROUP]} is {row['verdict']} than {row['reference']} in {row[METRIC]} "
        f"(median {row['median']:.3g} vs {row['median_reference']:.3g}, Holm p = {row['p_holm']:.2g})"
        for row in significant.to_dict("records")
    ]


def comparison_row(
    x: np.ndarray, reference: str | None, values: dict[str, np.ndarray], sign: float, settings: ReportSettings
) -> dict:
    """The test of values ``x`` (oriented so that larger is better) against the reference's."""
    y = values[reference] if reference is not None else np.array([])
    row = untested_row(x, y, reference, sign)
    if reference is None:
        row["note"] = "no reference group with the same metric protocol"
        return row
    if min(len(x), len(y)) == 0:
        row["note"] = "no finished seed on one side"
        return row
    if min(len(x), len(y)) == 1:
        # with one seed on a side a rank test cannot reach any p below 1: there is nothing to test
        row["note"] = "one finished seed on a side: add seeds to compare"
        return row
    u, p_value = mann_whitney(x, y, settings.bootstrap_seed)
    low, high = improvement_interval(x, y, settings)
    row.update(
        u=u,
        p_value=p_value,
        prob_improvement=float(probability_of_improvement(x, y)),
        prob_improvement_low=low,
        prob_improvement_high=high,
    )
    return row


def untested_row(x: np.ndarray, y: np.ndarray, reference: str | None, sign: float) -> dict:
    return {
        "reference": reference,
        "n": len(x),
        "n_reference": len(y),
        "median": sign * float(np.median(x)) if len(x) else math.nan,
        "median_reference": sign * float(np.median(y)) if len(y) else math.nan,
        "u": math.nan,
        "p_value": math.nan,
        "p_holm": math.nan,
        "prob_improvement": math.nan,
        "prob_improvement_low": math.nan,
        "prob_improvement_high": math.nan,
        "verdict": NOT_TESTED,
        "note": "",
    }


def verdict(p_holm: float, prob_improvement: float, alpha: float) -> str:
    if p_holm >= alpha:
        return NO_DIFFERENCE
    return BETTER if prob_improvement > 0.5 else WORSE


def underpowered_sizes(comparison: pd.DataFrame) -> list[tuple[int, int]]:
    """The (n, n_reference) pairs of tested rows with fewer than ``MIN_SEEDS_FOR_POWER`` on a side."""
    if comparison.empty:
        return []
    tested = comparison[~comparison["verdict"].isin((NOT_TESTED, REFERENCE))]
    sizes = zip(tested["n"], tested["n_reference"], strict=True)
    return sorted({(int(n), int(m)) for n, m in sizes if min(n, m) < MIN_SEEDS_FOR_POWER})
