"""Final values per group: a box plot with every seed's value, and a heatmap over two grid axes.

Jittered strip plots, not swarm plots: a swarm cannot place 10+ seeds of an integer metric
(modes covered) and warns. seaborn's jitter draws from numpy's global random state, so it is
seeded for the plot (and the state restored): the same results give the same figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from genbench.errors import GenbenchError
from genbench.records import TrialStatus
from genbench.replicates import GROUP_SEPARATOR, SEED_KEY
from genbench.report.data import GROUP, ReportData
from genbench.report.glossary import direction, metric_label
from genbench.report.layout import Drawing, Layout, ordered

#: width (inches) of a panel of boxes or of a heatmap with few columns
PANEL_WIDTH = 5.0
#: the seed of the strips' jitter
JITTER_SEED = 0
#: heatmap cells without a finished seed show the axes' background
MISSING_CELL_COLOUR = "#e0e0e0"


def final_distribution(data: ReportData) -> Drawing | None:
    """Box plot and every seed's final value, one row per group."""
    if data.metric not in data.trials.columns or data.trials[data.metric].isna().all():
        return None
    panel_key = Layout.of(data.group_keys).row
    trials = data.trials.assign(row=row_labels(data, [key for key in data.group_keys if key != panel_key]))
    finished = trials[trials["status"] == TrialStatus.FINISHED.value]
    panels = [cell for row in Layout(panel_key, None, None).panels(trials) for cell in row]
    rows = max(len(ordered(part["row"])) for _, part in panels)
    figure = Figure(figsize=(PANEL_WIDTH * len(panels) + 2.5, 1.2 + 0.42 * rows), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)
    for ax, (panel_title, part) in zip(axes.flat, panels, strict=True):
        order = ordered(part["row"])
        values = finished[finished["trial"].isin(part["trial"])]
        sns.boxplot(
            data=values, x=data.metric, y="row", order=order, ax=ax, color="#c6dbef", showfliers=False
        )
        # a strip with jitter, not a swarm: with 10+ seeds of an integer metric (modes covered) a
        # swarm cannot place its points and warns on the user's terminal
        with fixed_numpy_random(JITTER_SEED):
            sns.stripplot(
                data=values, x=data.metric, y="row", order=order, ax=ax, color="#08306b", size=4, jitter=0.25
            )
        ax.set(xlabel=metric_label(data.metric), ylabel="", title=panel_title)
    figure.suptitle(f"Final {data.metric} per group ({direction(data.metric)})")
    caption = (
        f"Final {data.metric} of every finished seed (dots) with the box of its group (quartiles and "
        "whiskers to the furthest value within 1.5 IQR). Groups whose seeds did not all finish say how "
        "many did."
    )
    return Drawing(figure, caption)


@contextmanager
def fixed_numpy_random(seed: int) -> Iterator[None]:
    """Seed numpy's global generator for a plot and restore it after."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def row_labels(data: ReportData, keys: list[str]) -> list[str]:
    """Each trial's group label within its panel, saying how many seeds finished where not all did."""
    finished = (
        (data.trials["status"] == TrialStatus.FINISHED.value).groupby(data.trials[GROUP]).agg(["sum", "size"])
    )
    labels = []
    for trial in data.trials.to_dict("records"):
        label = GROUP_SEPARATOR.join(str(trial[key]) for key in keys) if keys else str(trial[GROUP])
        done, total = finished.loc[trial[GROUP]]
        labels.append(label if done == total else f"{label} ({done} of {total} finished)")
    return labels


def heatmap_axes(data: ReportData) -> tuple[str, str] | None:
    """The suite's ``report.heatmap`` keys, or its first two grid keys other than the seed."""
    if data.settings.heatmap is not None:
        axes = data.settings.heatmap
        unknown = [key for key in axes if key not in data.trials.columns]
        if unknown and len(data.trials):
            raise GenbenchError(
                f"report.heatmap names {', '.join(unknown)}, which the results do not have; "
                f"use two of the grid keys: {', '.join(data.run_info.grid_keys)}"
            )
        return axes
    keys = [key for key in data.run_info.grid_keys if key != SEED_KEY]
    return (keys[0], keys[1]) if len(keys) >= 2 else None


def heatmap(data: ReportData) -> Drawing | None:
    """Mean final metric over two grid axes, one panel per value of the other grid keys."""
    axes_keys = heatmap_axes(data)
    finished = data.trials[data.trials["status"] == TrialStatus.FINISHED.value]
    if axes_keys is None or data.metric not in finished.columns or finished[data.metric].isna().all():
        return None
    rows_key, columns_key = axes_keys
    others = [key for key in data.run_info.grid_keys if key not in (SEED_KEY, rows_key, columns_key)]
    trials = data.trials.assign(
        _panel=data.trials[others].astype(str).agg(GROUP_SEPARATOR.join, axis=1) if others else ""
    )
    panels = list(trials.groupby("_panel", sort=False))
    row_order, column_order = ordered(trials[rows_key]), ordered(trials[columns_key])
    width = max(PANEL_WIDTH, 1.6 * len(column_order) + 2)
    figure = Figure(figsize=(width * len(panels), 1.6 + 0.55 * len(row_order) + 0.8), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)
    label = f"mean {metric_label(data.metric)}"
    for ax, (panel, part) in zip(axes.flat, panels, strict=True):
        done = part[part["status"] == TrialStatus.FINISHED.value]
        table = done.pivot_table(index=rows_key, columns=columns_key, values=data.metric, aggfunc="mean")
        table = table.reindex(index=row_order, columns=column_order).astype(float)
        sns.heatmap(
            table, ax=ax, annot=True, fmt=".3g", cmap="viridis", cbar_kws={"label": label}, linewidths=0.5
        )
        ax.set_facecolor(MISSING_CELL_COLOUR)
        ax.grid(False)
        ax.set(xlabel=columns_key, ylabel=rows_key)
        ax.set_title(f"{GROUP_SEPARATOR.join(others)} = {panel}" if others else "")
        ax.tick_params(axis="x", labelrotation=20)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
        ax.tick_params(axis="y", labelrotation=0)
    figure.suptitle(f"Mean final {data.metric} over {rows_key} x {columns_key}")
    caption = (
        f"Mean final {data.metric} over the finished seeds of each cell ({direction(data.metric)}); "
        "grey cells have no finished seed."
    )
    return Drawing(figure, caption)
