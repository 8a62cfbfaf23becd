"""Aggregation across seeds: the numbers a group's final metric is summarized by, and outcome rates.

With the handful of seeds a GAN study can afford, a mean alone misleads. Each group gets the mean
and sample standard deviation (computed as a check computes them, by ``genbench.replicates``), the
median, the interquartile mean (IQM: the mean of the middle 50%, ``scipy.stats.trim_mean`` cutting
25% at each end, robust to one wild seed and more efficient than the median; Agarwal et al. 2021,
"Deep RL at the Edge of the Statistical Precipice"), min and max, and a percentile bootstrap
confidence interval of the mean (Efron 1979). The percentile method, not BCa: BCa is undefined when
every seed gives the same value, which is common for counts such as ``modes_covered``. Every
bootstrap uses a fresh generator seeded from the report settings, so the same results always give
the same intervals, whatever order they are computed in.

Rates (diverged, failed, successful trials) carry Wilson score intervals (Wilson 1927), which stay
inside [0, 1] and keep their coverage at 0 of 3 or 3 of 3, where the normal approximation fails.
Diverged and failed trials have no final metric, so ``n`` counts the finished seeds. Torch-free.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from genbench.records import TrialStatus
from genbench.replicates import mean_and_std
from genbench.report.data import GROUP, ReportData
from genbench.settings import ReportSettings

STATISTICS = ("n", "mean", "std", "median", "iqm", "min", "max", "ci_low", "ci_high")
#: share cut from each end for the interquartile mean
IQM_CUT = 0.25
SUCCESS = "success"


def bootstrap_interval(values: np.ndarray, settings: ReportSettings) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; NaN with fewer than two values."""
    if len(values) < 2:
        return math.nan, math.nan
    result = stats.bootstrap(
        (values,),
        np.mean,
        n_resamples=settings.bootstrap_resamples,
        confidence_level=settings.confidence,
        method="percentile",
        rng=np.random.default_rng(settings.bootstrap_seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def summarize_values(values: np.ndarray, settings: ReportSettings) -> dict[str, float]:
    """The seed statistics of one group's values (NaNs already dropped)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return {"n": 0, **{name: math.nan for name in STATISTICS[1:]}}
    low, high = bootstrap_interval(values, settings)
    mean, std = mean_and_std(values)
    return {
        "n": len(values),
        "mean": mean,
        "std": math.nan if std is None else std,
        "median": float(np.median(values)),
        "iqm": float(stats.trim_mean(values, IQM_CUT)),
        "min": float(values.min()),
        "max": float(values.max()),
        "ci_low": low,
        "ci_high": high,
    }


def finished_values(trials: pd.DataFrame, metric: str) -> pd.Series:
    """A metric's final values of the finished trials (diverged and failed ones have none)."""
    if metric not in trials.columns:
        return pd.Series(dtype=float)
    finished = trials[trials["status"] == TrialStatus.FINISHED.value]
    return finished[metric].dropna().astype(float)


def aggregate_metrics(data: ReportData) -> pd.DataFrame:
    """Long table: one row per group and final metric, with the seed statistics as columns."""
    rows = []
    for group, trials in data.trials.groupby(GROUP, sort=False):
        keys = trials.iloc[0][data.group_keys].to_dict()
        for metric in data.metrics:
            values = finished_values(trials, metric).to_numpy()
            rows.append({GROUP: group, **keys, "metric": metric, **summarize_values(values, data.settings)})
    return pd.DataFrame(rows, columns=[GROUP, *data.group_keys, "metric", *STATISTICS])


def wilson_interval(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    if trials == 0:
        return math.nan, math.nan
    interval = stats.binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def rate(name: str, successes: int, trials: int, confidence: float) -> dict[str, float]:
    """``name``, ``name_low``, ``name_high``: the share and its Wilson interval (NaN for 0 trials)."""
    low, high = wilson_interval(successes, trials, confidence)
    share = successes / trials if trials else math.nan
    return {name: share, f"{name}_low": low, f"{name}_high": high}


def outcome_rates(trial_table: pd.DataFrame, group_keys: list[str], confidence: float) -> pd.DataFrame:
    """Per group: trial counts by status, diverged and failed shares, and the success rate.

    ``trial_table`` has one row per trial with ``status`` and, where a success criterion exists,
    ``success`` (True, False, or missing for trials it does not apply to). Failed trials crashed
    for a reason outside training, so they count only towards the failed share; the diverged share
    and the success rate are shares of the trials that trained (finished or diverged).
    """
    rows = []
    for group, trials in trial_table.groupby(GROUP, sort=False):
        counts = trials["status"].value_counts()
        finished, diverged, failed = (
            int(counts.get(status.value, 0))
            for status in (TrialStatus.FINISHED, TrialStatus.DIVERGED, TrialStatus.FAILED)
        )
        row = {
            GROUP: group,
            **trials.iloc[0][group_keys].to_dict(),
            "trials": len(trials),
            "finished": finished,
            "diverged": diverged,
            "failed": failed,
            **rate("diverged_share", diverged, finished + diverged, confidence),
            **rate("failed_share", failed, len(trials), confidence),
        }
        if SUCCESS in trials.columns:
            decided = trials[SUCCESS].dropna()
            row.update(rate("success_rate", int(decided.sum()), len(decided), confidence))
        rows.append(row)
    return pd.DataFrame(rows)
