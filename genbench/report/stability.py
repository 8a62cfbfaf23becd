"""Stability summaries of GAN training, per trial from its curves and per group across seeds.

A final metric says where training ended, not how it got there. These numbers describe the path:
whether and when training diverged, whether it reached the success criterion and how fast, how
much the metric and the losses still swing at the end (oscillation), whether the generator rotates
through the modes instead of covering them (mode hopping, the failure Metz et al. 2017 show for
the standard GAN in "Unrolled Generative Adversarial Networks"), how far the final value fell from
the best one seen, and the size of the generator's and discriminator's gradients. The glossary
(``genbench.report.glossary``) defines each column for the reader. Torch-free.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pandas as pd

from genbench.metrics.keys import (
    KEY_DISCRIMINATOR_GRAD_NORM,
    KEY_DISCRIMINATOR_LOSS,
    KEY_GENERATOR_GRAD_NORM,
    KEY_GENERATOR_LOSS,
    KEY_TRAIN_SECONDS,
)
from genbench.records import ModeSet, TrialRecord, TrialStatus
from genbench.replicates import SEED_KEY
from genbench.report.aggregate import SUCCESS
from genbench.report.data import GROUP, ReportData
from genbench.settings import ReportSettings

FINAL = "final"
BEST = "best"
DROP_FROM_BEST = "drop_from_best"
OSCILLATION = "oscillation"
OSCILLATION_GENERATOR_LOSS = "oscillation_generator_loss"
OSCILLATION_DISCRIMINATOR_LOSS = "oscillation_discriminator_loss"
MODE_SET_CHANGES = "mode_set_changes"
MODES_DROPPED = "modes_dropped"
STEPS_TO_THRESHOLD = "steps_to_threshold"
SECONDS_TO_THRESHOLD = "seconds_to_threshold"
GRAD_NORM_SIGNALS = (KEY_GENERATOR_GRAD_NORM, KEY_DISCRIMINATOR_GRAD_NORM)


def oscillation(values: pd.Series, settings: ReportSettings) -> float:
    """Mean rolling standard deviation over the last ``tail_fraction`` of the evaluations.

    A converged run is flat at the end (near 0); a run still cycling keeps a large value. NaN with
    fewer than two evaluations in the tail.
    """
    values = values.dropna()
    tail = values.iloc[-max(1, math.ceil(settings.tail_fraction * len(values))) :]
    if len(tail) < 2:
        return math.nan
    return float(tail.rolling(min(settings.rolling_window, len(tail))).std().mean())


def mode_hopping(mode_sets: list[ModeSet]) -> tuple[float, float]:
    """(evaluations after which the covered-mode set changed, modes lost between evaluations).

    Changes count both gains and losses; drops count only losses, which separates a generator
    rotating through the modes (many drops) from one that is still learning new ones (none).
    """
    sets = [set(mode_set.modes) for mode_set in sorted(mode_sets, key=lambda mode_set: mode_set.step)]
    if len(sets) < 2:
        return math.nan, math.nan
    changes = sum(before != after for before, after in pairwise(sets))
    dropped = sum(len(before - after) for before, after in pairwise(sets))
    return float(changes), float(dropped)


def best_value(values: pd.Series, higher_is_better: bool) -> float:
    values = values.dropna()
    if values.empty:
        return math.nan
    return float(values.max() if higher_is_better else values.min())


def steps_trained(record: TrialRecord) -> float:
    if record.diverged_step is not None:
        return float(record.diverged_step)
    return float(record.spec.get("train", {}).get("steps", math.nan))


def seconds_per_step(record: TrialRecord) -> float:
    """Training seconds per step; NaN for a trial that took no step (a pretrained generator, or
    ``train.steps: 0``), whose time per step is unknown."""
    steps = steps_trained(record)
    return record.timings.get(KEY_TRAIN_SECONDS, math.nan) / steps if steps > 0 else math.nan


def first_step_reaching(values: pd.Series, reached) -> float:
    hits = [step for step, value in values.dropna().items() if reached(value)]
    return float(hits[0]) if hits else math.nan


def trial_stability(data: ReportData) -> pd.DataFrame:
    """One row per recorded trial with its stability summaries (NaN where a signal is missing)."""
    by_trial = {
        trial: frame.pivot_table(index="step", columns="metric", values="value").sort_index()
        for trial, frame in data.curves.groupby("trial", sort=False)
    }
    rows = []
    for trial in data.trials.to_dict("records"):
        record = data.records[trial["trial"]]
        curves = by_trial.get(record.id, pd.DataFrame())
        rows.append(trial_row(data, record, trial, curves))
    return pd.DataFrame(rows)


def trial_row(data: ReportData, record: TrialRecord, trial: dict, curves: pd.DataFrame) -> dict:
    empty = pd.Series(dtype=float)
    metric_curve = curves.get(data.metric, empty)
    final = trial.get(data.metric, math.nan) if record.status == TrialStatus.FINISHED else math.nan
    best = best_value(metric_curve, data.higher_is_better)
    changes, dropped = mode_hopping(record.covered_modes)
    row = {
        "trial": record.id,
        GROUP: trial[GROUP],
        **{key: trial[key] for key in data.group_keys},
        SEED_KEY: trial[SEED_KEY],
        "status": record.status.value,
        "diverged_step": record.diverged_step,
        "metric": data.metric,
        FINAL: final,
        BEST: best,
        DROP_FROM_BEST: (best - final) * (1 if data.higher_is_better else -1),
        OSCILLATION: oscillation(metric_curve, data.settings),
        OSCILLATION_GENERATOR_LOSS: oscillation(curves.get(KEY_GENERATOR_LOSS, empty), data.settings),
        OSCILLATION_DISCRIMINATOR_LOSS: oscillation(curves.get(KEY_DISCRIMINATOR_LOSS, empty), data.settings),
        MODE_SET_CHANGES: changes,
        MODES_DROPPED: dropped,
    }
    for signal in GRAD_NORM_SIGNALS:
        values = curves.get(signal, empty).dropna()
        row[f"{signal}_median"] = float(values.median()) if len(values) else math.nan
        row[f"{signal}_max"] = float(values.max()) if len(values) else math.nan
    row.update(success_columns(data, record, trial, curves))
    return row


def success_columns(data: ReportData, record: TrialRecord, trial: dict, curves: pd.DataFrame) -> dict:
    """Whether the trial met the success criterion, and when it first did (evaluation step and
    training seconds, the latter assuming a constant time per step). A criterion met at step 0 was
    met before any training: 0 seconds, whether or not the trial then trained."""
    success = data.success
    if success is None:
        return {}
    threshold = success.thresholds.get(record.id)
    if threshold is None or record.status == TrialStatus.FAILED:
        return {SUCCESS: None, STEPS_TO_THRESHOLD: math.nan, SECONDS_TO_THRESHOLD: math.nan}
    final = trial.get(success.metric, math.nan)
    succeeded = record.status == TrialStatus.FINISHED and bool(success.reached(final, threshold))
    step = first_step_reaching(
        curves.get(success.metric, pd.Series(dtype=float)), lambda v: success.reached(v, threshold)
    )
    seconds = 0.0 if step == 0 else step * seconds_per_step(record)
    return {SUCCESS: succeeded, STEPS_TO_THRESHOLD: step, SECONDS_TO_THRESHOLD: seconds}


def group_stability(trial_table: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """Per group: how the seeds' stability summaries combine (medians of steps, means of the
    swings, the spread of the final metric across finished seeds, the largest gradient norms)."""
    rows = []
    for group, trials in trial_table.groupby(GROUP, sort=False):
        finals = trials[FINAL].dropna()
        row = {
            GROUP: group,
            **trials.iloc[0][group_keys].to_dict(),
            "median_diverged_step": trials["diverged_step"].median(),
            "final_std": float(finals.std(ddof=1)) if len(finals) >= 2 else math.nan,
            "final_range": float(np.ptp(finals)) if len(finals) else math.nan,
            DROP_FROM_BEST: trials[DROP_FROM_BEST].mean(),
            OSCILLATION: trials[OSCILLATION].mean(),
            OSCILLATION_GENERATOR_LOSS: trials[OSCILLATION_GENERATOR_LOSS].mean(),
            OSCILLATION_DISCRIMINATOR_LOSS: trials[OSCILLATION_DISCRIMINATOR_LOSS].mean(),
            MODE_SET_CHANGES: trials[MODE_SET_CHANGES].mean(),
            MODES_DROPPED: trials[MODES_DROPPED].mean(),
        }
        if STEPS_TO_THRESHOLD in trials.columns:
            row[STEPS_TO_THRESHOLD] = trials[STEPS_TO_THRESHOLD].median()
            row[SECONDS_TO_THRESHOLD] = trials[SECONDS_TO_THRESHOLD].median()
        for signal in GRAD_NORM_SIGNALS:
            row[f"{signal}_median"] = trials[f"{signal}_median"].median()
            row[f"{signal}_max"] = trials[f"{signal}_max"].max()
        rows.append(row)
    return pd.DataFrame(rows)
