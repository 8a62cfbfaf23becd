"""Training trajectories in the (theta, psi) plane: the Dirac-GAN's picture of convergence.

Mescheder et al. 2018 ("Which training methods for GANs do actually converge?", Figures 2-4) judge
a training method by the path its two parameters take: a path that spirals into the equilibrium
(0, 0) converges, one that circles it or settles elsewhere does not. This figure draws that path
from the recorded curves of the ``theta`` and ``psi`` probes (``genbench.models.dirac``), one
panel per group, one line per seed, and is left out for runs whose records carry no such curves.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from genbench.metrics.keys import KEY_PSI, KEY_THETA
from genbench.replicates import SEED_KEY
from genbench.report.data import GROUP, ReportData
from genbench.report.layout import Drawing, palette, panel_figure, shared_legend

MOST_COLUMNS = 4
#: share of the trajectories' extent left as margin around them
MARGIN = 0.08


def trajectory_points(data: ReportData) -> pd.DataFrame:
    """One row per trial and evaluation with its group, seed, step, theta and psi, in step order;
    empty when no trial recorded both."""
    curves = data.curves[data.curves["metric"].isin([KEY_THETA, KEY_PSI])]
    if curves.empty:
        return pd.DataFrame(columns=[GROUP, "trial", SEED_KEY, "step", KEY_THETA, KEY_PSI])
    points = curves.pivot_table(
        index=[GROUP, "trial", SEED_KEY, "step"], columns="metric", values="value"
    ).reset_index()
    if KEY_THETA not in points or KEY_PSI not in points:
        return pd.DataFrame(columns=[GROUP, "trial", SEED_KEY, "step", KEY_THETA, KEY_PSI])
    return points.dropna(subset=[KEY_THETA, KEY_PSI]).sort_values(["trial", "step"], kind="stable")


def trajectories(data: ReportData) -> Drawing | None:
    points = trajectory_points(data)
    if points.empty:
        return None
    groups = [group for group in data.groups if group in set(points[GROUP])]
    columns = min(MOST_COLUMNS, len(groups))
    rows = -(-len(groups) // columns)
    figure, axes = panel_figure(rows, columns, legend=True, sharex=True, sharey=True)
    seeds = sorted(points[SEED_KEY].unique())
    colours = palette([f"seed {seed}" for seed in seeds])
    for ax, group in zip(axes.flat, groups, strict=False):
        for (seed, _), path in points[points[GROUP] == group].groupby([SEED_KEY, "trial"], sort=True):
            colour = colours[f"seed {seed}"]
            ax.plot(path[KEY_THETA], path[KEY_PSI], color=colour, linewidth=1, label=f"seed {seed}")
            ax.plot(path[KEY_THETA].iloc[0], path[KEY_PSI].iloc[0], "o", color=colour, markersize=3)
        ax.plot(0, 0, "*", color="#cb181d", markersize=10, label="equilibrium (0, 0)")
        ax.set_title("\n".join(textwrap.wrap(group, 28)), fontsize=8)
    for ax in axes.flat[len(groups) :]:
        ax.set_axis_off()
    (x_low, x_high), (y_low, y_high) = limits(points)
    axes[0, 0].set(xlim=(x_low, x_high), ylim=(y_low, y_high))
    for ax in axes[-1]:
        ax.set_xlabel("theta (generator)")
    for ax in axes[:, 0]:
        ax.set_ylabel("psi (discriminator)")
    shared_legend(figure, axes, None)
    figure.suptitle("Trajectories in the (theta, psi) plane")
    caption = (
        "Each seed's generator parameter theta and discriminator slope psi at every evaluation, one "
        "panel per group; a dot marks the first evaluation, the red star the equilibrium (0, 0). Seeds "
        "of a training that draws nothing random coincide, the last drawn on top. A path "
        "that spirals into the star converges; one that circles it or stops elsewhere does not "
        "(Mescheder et al. 2018). psi is genbench's logit slope, the paper's -psi: paths are the paper's "
        "mirrored in psi."
    )
    return Drawing(figure, caption)


def limits(points: pd.DataFrame) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis limits holding every trajectory and the equilibrium, shared by all panels."""
    values = points[[KEY_THETA, KEY_PSI]].to_numpy(dtype=float)
    low = np.minimum(values.min(axis=0), 0.0)
    high = np.maximum(values.max(axis=0), 0.0)
    pad = MARGIN * np.maximum(high - low, 1e-6)
    low, high = low - pad, high + pad
    return (float(low[0]), float(high[0])), (float(low[1]), float(high[1]))
