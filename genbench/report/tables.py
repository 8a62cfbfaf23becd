"""Display tables: the computed frames formatted for a reader, numbers as short text.

The raw frames (full precision) are written as CSV for further analysis; these are the versions a
person reads in ``report.md``, in a terminal or in ``report.html``. Three significant digits, an
en dash for a missing value, ``mean ± std``, ``[low, high]`` for intervals, rates as percentages.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from genbench.records import TrialStatus
from genbench.replicates import SEED_KEY
from genbench.report import stability as st
from genbench.report.data import GROUP
from genbench.report.pairwise import METRIC

MISSING = "–"


def number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    value = float(value)
    if value.is_integer() and abs(value) < 1e6:
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def mean_std(mean: float, std: float) -> str:
    if math.isnan(mean):
        return MISSING
    return number(mean) if math.isnan(std) else f"{number(mean)} ± {number(std)}"


def interval(low: float, high: float) -> str:
    return MISSING if math.isnan(low) else f"[{number(low)}, {number(high)}]"


def share(value: float, low: float, high: float) -> str:
    if math.isnan(value):
        return MISSING
    return f"{value:.0%} [{low:.0%}, {high:.0%}]"


def keys_of(frame: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """The group's key columns, or the group label when the grid has no key but the seed."""
    return frame[group_keys].copy() if group_keys else frame[[GROUP]].copy()


def headline_table(aggregate: pd.DataFrame, metric: str, group_keys: list[str]) -> pd.DataFrame:
    rows = aggregate[aggregate["metric"] == metric]
    table = keys_of(rows, group_keys)
    table["n"] = rows["n"].map(number)
    table["mean ± std"] = [mean_std(m, s) for m, s in zip(rows["mean"], rows["std"], strict=True)]
    table["CI of mean"] = [interval(lo, hi) for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)]
    for column in ("median", "iqm", "min", "max"):
        table[column.upper() if column == "iqm" else column] = rows[column].map(number)
    return table.reset_index(drop=True)


def metrics_table(aggregate: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """Groups as rows, every final metric as a ``mean ± std`` column."""
    aggregate = aggregate.assign(
        cell=[mean_std(m, s) for m, s in zip(aggregate["mean"], aggregate["std"], strict=True)]
    )
    index = group_keys or [GROUP]
    wide = aggregate.pivot(index=index, columns="metric", values="cell")
    order = list(dict.fromkeys(aggregate["metric"]))
    groups = aggregate[index].drop_duplicates()
    return groups.merge(wide[order].reset_index(), on=index, how="left").reset_index(drop=True)


def outcomes_table(outcomes: pd.DataFrame, groups: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """Counts and shares per group; the divergence step and failed share only where a trial
    somewhere diverged or failed (the summary already says when none did)."""
    table = keys_of(outcomes, group_keys)
    table["finished"] = [f"{f} of {n}" for f, n in zip(outcomes["finished"], outcomes["trials"], strict=True)]
    table["diverged"] = shares(outcomes, "diverged_share")
    if outcomes["diverged"].any():
        table["diverged at step"] = groups["median_diverged_step"].map(number)
    if outcomes["failed"].any():
        table["failed"] = shares(outcomes, "failed_share")
    if "success_rate" in outcomes.columns:
        table["success rate"] = shares(outcomes, "success_rate")
        table["first reached at step"] = groups[st.STEPS_TO_THRESHOLD].map(number)
        table["seconds to reach"] = groups[st.SECONDS_TO_THRESHOLD].map(number)
    return table.reset_index(drop=True)


def shares(frame: pd.DataFrame, name: str) -> list[str]:
    return [
        share(v, lo, hi)
        for v, lo, hi in zip(frame[name], frame[f"{name}_low"], frame[f"{name}_high"], strict=True)
    ]


def dynamics_table(groups: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """The dynamics columns that have a value somewhere (no mode sets: no mode hopping columns)."""
    table = keys_of(groups, group_keys)
    columns = {
        "metric oscillation": st.OSCILLATION,
        "G loss oscillation": st.OSCILLATION_GENERATOR_LOSS,
        "D loss oscillation": st.OSCILLATION_DISCRIMINATOR_LOSS,
        "mode set changes": st.MODE_SET_CHANGES,
        "modes dropped": st.MODES_DROPPED,
        "drop from best": st.DROP_FROM_BEST,
        "final std": "final_std",
        "final range": "final_range",
    }
    for title, column in columns.items():
        if groups[column].notna().any():
            table[title] = groups[column].map(number)
    return table.reset_index(drop=True)


def gradients_table(groups: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    table = keys_of(groups, group_keys)
    for signal, name in zip(st.GRAD_NORM_SIGNALS, ("G", "D"), strict=True):
        table[f"{name} grad norm, median"] = groups[f"{signal}_median"].map(number)
        table[f"{name} grad norm, max"] = groups[f"{signal}_max"].map(number)
    return table.reset_index(drop=True)


def comparison_table(comparison: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """Every group, its reference's row marked ``reference``; a note column only where one says why
    a group was not tested."""
    table = keys_of(comparison, group_keys)
    if comparison[METRIC].nunique() > 1:
        table.insert(0, METRIC, comparison[METRIC].to_numpy())
    table["n"] = comparison["n"].map(number)
    table["median"] = comparison["median"].map(number)
    table["U"] = comparison["u"].map(number)
    table["p"] = comparison["p_value"].map(number)
    table["Holm p"] = comparison["p_holm"].map(number)
    table["P(improvement)"] = [
        MISSING if math.isnan(p) else f"{p:.2f} {interval(lo, hi)}"
        for p, lo, hi in zip(
            comparison["prob_improvement"],
            comparison["prob_improvement_low"],
            comparison["prob_improvement_high"],
            strict=True,
        )
    ]
    table["verdict"] = comparison["verdict"]
    if (comparison["note"] != "").any():
        table["note"] = comparison["note"]
    return table.reset_index(drop=True)


def problems_table(trials: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """Failed and diverged trials with what happened to them."""
    bad = trials[trials["status"] != TrialStatus.FINISHED.value]
    table = keys_of(bad, group_keys)
    table[SEED_KEY] = bad[SEED_KEY].map(number)
    table["trial"] = bad["trial"]
    table["status"] = bad["status"]
    table["message"] = [problem_message(row) for row in bad.to_dict("records")]
    return table.reset_index(drop=True)


def problem_message(row: dict) -> str:
    if row["status"] == TrialStatus.DIVERGED.value:
        return f"losses or samples stopped being finite at step {number(row.get('diverged_step'))}"
    error = row.get("error")
    return error if isinstance(error, str) and error else "no message recorded"
