"""Figures of generated samples: 2-D scatter over the true mode centres, or image grids, per group.

The classic picture of mode collapse (Metz et al. 2017; Srivastava et al. 2017): for a 2-D mixture,
the samples of one seed of each group scattered over the true mode centres, so a reader sees at a
glance which modes a generator missed. For image data, a grid of the same seed's samples
(torchvision's ``make_grid``, imported only then). Every trial of a suite draws its evaluation
latents from the same seeded stream, so groups with the same seed are shown on the same latent
batch and their grids are comparable across groups and runs.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from genbench.records import TrialStatus
from genbench.replicates import SEED_KEY
from genbench.report.data import GROUP, ReportData
from genbench.report.layout import Drawing

PANEL_SIZE = 2.8
MOST_COLUMNS = 5
#: images in each group's grid (8 x 8)
GRID_IMAGES = 64
GRID_ROW = 8
#: share of the samples' extent (1st to 99th percentile) left as margin around each scatter panel
MARGIN = 0.1


def shown_trials(data: ReportData, is_shape) -> list[tuple[str, str, np.ndarray]]:
    """(group, trial, samples) of each group's first finished seed whose samples pass ``is_shape``."""
    shown = []
    finished = data.trials[data.trials["status"] == TrialStatus.FINISHED.value]
    for group, trials in finished.sort_values(SEED_KEY, kind="stable").groupby(GROUP, sort=False):
        for trial in trials["trial"]:
            samples = data.store.samples(trial)
            if samples is not None and is_shape(samples):
                shown.append((group, trial, samples))
                break
    order = {group: i for i, group in enumerate(data.groups)}
    return sorted(shown, key=lambda item: order[item[0]])


def panels(count: int) -> tuple[Figure, list[Axes]]:
    columns = min(MOST_COLUMNS, count)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(PANEL_SIZE * columns, PANEL_SIZE * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).flatten()
    for ax in axes[count:]:
        ax.set_axis_off()
    return figure, list(axes[:count])


def panel_title(data: ReportData, group: str, trial: str) -> str:
    seed = data.trials.set_index("trial").loc[trial, SEED_KEY]
    return "\n".join(textwrap.wrap(group, 30)) + f"\nseed {seed}"


def is_points(samples: np.ndarray) -> bool:
    return samples.ndim == 2 and samples.shape[1] == 2


def is_images(samples: np.ndarray) -> bool:
    return samples.ndim == 4 and samples.shape[1] in (1, 3)


def limits(points: np.ndarray, centres: np.ndarray | None) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis limits holding the centres and the bulk of the samples (1st to 99th percentile), so a
    few far outliers do not shrink the picture to a dot."""
    low, high = np.percentile(points, 1, axis=0), np.percentile(points, 99, axis=0)
    if centres is not None and len(centres):
        low, high = np.minimum(low, centres.min(axis=0)), np.maximum(high, centres.max(axis=0))
    pad = MARGIN * np.maximum(high - low, 1e-6)
    low, high = low - pad, high + pad
    return (float(low[0]), float(high[0])), (float(low[1]), float(high[1]))


def sample_scatter(data: ReportData) -> Drawing | None:
    shown = shown_trials(data, is_points)
    if not shown:
        return None
    figure, axes = panels(len(shown))
    for ax, (group, trial, samples) in zip(axes, shown, strict=True):
        centres = data.store.mode_centres(trial)
        # rasterized: thousands of points would make the SVG heavy without making it sharper
        ax.scatter(
            samples[:, 0], samples[:, 1], s=2, alpha=0.35, color="#2171b5", rasterized=True, label="generated"
        )
        if centres is not None:
            ax.scatter(
                centres[:, 0],
                centres[:, 1],
                s=40,
                marker="x",
                color="#cb181d",
                linewidths=1.5,
                label="true mode centre",
            )
        x_limits, y_limits = limits(samples, centres)
        ax.set(xlim=x_limits, ylim=y_limits, aspect="equal", xticks=[], yticks=[])
        ax.set_title(panel_title(data, group, trial), fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False, markerscale=2)
    figure.suptitle("Generated samples (blue) over the true mode centres (red x)")
    caption = (
        "Final samples of each group's first finished seed (up to 2,000 points) over the dataset's true "
        "mode centres. A covered mode has samples on its cross; axes hold the centres and the 1st to "
        "99th percentile of the samples."
    )
    return Drawing(figure, caption)


def image_grids(data: ReportData) -> Drawing | None:
    shown = shown_trials(data, is_images)
    if not shown:
        return None
    import torch
    from torchvision.utils import make_grid

    figure, axes = panels(len(shown))
    for ax, (group, trial, samples) in zip(axes, shown, strict=True):
        batch = torch.from_numpy(np.asarray(samples[:GRID_IMAGES], dtype=np.float32))
        grid = make_grid(batch, nrow=GRID_ROW, normalize=True, value_range=(-1, 1), pad_value=1.0)
        ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(panel_title(data, group, trial), fontsize=8)
    figure.suptitle("Generated images")
    caption = (
        f"The first {GRID_IMAGES} final samples of each group's first finished seed; the same seed "
        "uses the same evaluation latents in every group, so grids are comparable."
    )
    return Drawing(figure, caption)
