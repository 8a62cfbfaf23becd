"""Curves during training: the headline metric, and the generator's and discriminator's losses.

Each line is the mean over a group's seeds at each evaluation; its band is the same percentile
bootstrap interval of the mean as in the tables (``aggregate.bootstrap_interval``, seeded), so the
same results always give the same figure. It also replaces seaborn's own bootstrap, a Python loop
per resample that took most of a report's time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from genbench.metrics.keys import KEY_DISCRIMINATOR_LOSS, KEY_GENERATOR_LOSS
from genbench.report.aggregate import bootstrap_interval
from genbench.report.data import ReportData
from genbench.report.glossary import STEP_LABEL, metric_label
from genbench.report.layout import Drawing, Layout, ordered, palette, panel_figure, shared_legend

LOSS_NAMES = {KEY_GENERATOR_LOSS: "generator", KEY_DISCRIMINATOR_LOSS: "discriminator"}


def curve_grid(data: ReportData, curves: pd.DataFrame, ylabel: str, style: str | None, sharey) -> Figure:
    """Mean-across-seeds curves of ``curves`` (step, value), one panel per layout cell."""
    layout = Layout.of(data.group_keys)
    curves = layout.with_hue(curves)
    grid = layout.panels(curves)
    figure, axes = panel_figure(len(grid), len(grid[0]), legend=True, sharex=True, sharey=sharey)
    semantics = (
        {"style": style, "style_order": ordered(curves[style]), "markers": True} if style else {"marker": "o"}
    )
    if layout.hue is not None:
        order = ordered(curves[layout.hue])
        semantics.update(hue=layout.hue, hue_order=order, palette=palette(order))
    for row, cells in enumerate(grid):
        for column, (title, part) in enumerate(cells):
            ax = axes[row, column]
            ax.set_title(title)
            if part.empty:
                ax.text(0.5, 0.5, "no trials", transform=ax.transAxes, ha="center", color="0.5")
                continue
            sns.lineplot(
                data=part,
                x="step",
                y="value",
                errorbar=lambda values: bootstrap_interval(np.asarray(values, float), data.settings),
                markersize=4,
                ax=ax,
                **semantics,
            )
            ax.set(xlabel=STEP_LABEL if row == len(grid) - 1 else "", ylabel=ylabel if column == 0 else "")
    shared_legend(figure, axes, None if style else layout.hue)
    return figure


def metric_curves(data: ReportData) -> Drawing | None:
    curves = data.curves[data.curves["metric"] == data.metric]
    if curves.empty:
        return None
    figure = curve_grid(data, curves, metric_label(data.metric), style=None, sharey="row")
    figure.suptitle(f"{data.metric} during training (mean across seeds)")
    caption = (
        f"Mean {data.metric} across seeds at each evaluation, with the {data.settings.confidence:.0%} "
        f"bootstrap interval of the mean as a band ({data.settings.bootstrap_resamples} resamples, seed "
        f"{data.settings.bootstrap_seed}). A diverged seed counts until it diverges."
    )
    if mark_thresholds(data, figure, curves):
        caption += " Dashed line: the success threshold."
    return Drawing(figure, caption)


def mark_thresholds(data: ReportData, figure: Figure, curves: pd.DataFrame) -> bool:
    """A dashed line at the success threshold in each panel whose trials share one."""
    success = data.success
    if success is None or success.metric != data.metric:
        return False
    marked = False
    cells = [cell for row in Layout.of(data.group_keys).panels(curves) for cell in row]
    for ax, (_, part) in zip(figure.axes, cells, strict=False):
        thresholds = {success.thresholds.get(trial) for trial in part["trial"].unique()} - {None}
        if len(thresholds) == 1:
            ax.axhline(thresholds.pop(), color="0.3", linestyle="--", linewidth=1)
            marked = True
    return marked


def loss_curves(data: ReportData) -> Drawing | None:
    curves = data.curves[data.curves["metric"].isin(LOSS_NAMES)]
    if curves.empty:
        return None
    curves = curves.assign(network=curves["metric"].map(LOSS_NAMES))
    figure = curve_grid(data, curves, "loss", style="network", sharey=False)
    figure.suptitle("Generator (solid) and discriminator (dashed) losses")
    caption = (
        "Training losses averaged over the steps since the previous evaluation, mean across seeds with "
        f"a {data.settings.confidence:.0%} bootstrap band. Each panel has its own scale: the losses of "
        "different objectives are not comparable in level; compare their shapes (settling, drifting, "
        "cycling)."
    )
    return Drawing(figure, caption)
