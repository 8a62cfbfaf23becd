"""The report's figures: which ones, in what style, and how they are written (PNG and SVG).

Figures are drawn on ``matplotlib.figure.Figure`` objects without pyplot and rendered by the Agg
canvas (PNG) and the SVG backend, so building a report never opens a window, needs no display and
leaves the caller's matplotlib state alone. The seaborn style is applied in a context, not set
globally. SVG ids are salted with a constant and the files carry no date, so the same results
give byte-identical figures.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import seaborn as sns
from matplotlib import MatplotlibDeprecationWarning

from genbench.atomic import write_atomically
from genbench.report.curve_plots import loss_curves, metric_curves
from genbench.report.data import ReportData
from genbench.report.final_plots import final_distribution, heatmap
from genbench.report.layout import Drawing
from genbench.report.sample_plots import image_grids, sample_scatter
from genbench.report.trajectory_plots import trajectories

PNG_DPI = 110

#: (file name, title, drawing function) in the order the report shows them
FIGURES: tuple[tuple[str, str, Callable[[ReportData], Drawing | None]], ...] = (
    ("metric_curves", "Headline metric during training", metric_curves),
    ("trajectories", "Trajectories in the (theta, psi) plane", trajectories),
    ("final_distribution", "Final values per group", final_distribution),
    ("heatmap", "Grid heatmap", heatmap),
    ("samples", "Generated samples", sample_scatter),
    ("image_grids", "Generated images", image_grids),
    ("loss_curves", "Losses during training", loss_curves),
)


@dataclass(frozen=True)
class FigureFile:
    name: str
    title: str
    caption: str
    png: Path
    svg: Path


def write_figures(data: ReportData, directory: Path) -> list[FigureFile]:
    """Draw every figure the run has data for and write it as PNG and SVG into ``directory``;
    a figure left from an earlier build that this one does not draw is removed."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    with (
        sns.axes_style("whitegrid"),
        matplotlib.rc_context({"svg.hashsalt": "genbench"}),
        warnings.catch_warnings(),
    ):
        # seaborn 0.13's box plot still passes matplotlib's deprecated ``vert``; not ours to fix
        warnings.filterwarnings("ignore", "vert: bool was deprecated", MatplotlibDeprecationWarning)
        for name, title, draw in FIGURES:
            drawing = draw(data)
            if drawing is not None:
                written.append(save(drawing, directory, name, title))
                continue
            for suffix in (".png", ".svg"):
                (directory / name).with_suffix(suffix).unlink(missing_ok=True)
    return written


def save(drawing: Drawing, directory: Path, name: str, title: str) -> FigureFile:
    """Both files replaced whole (``genbench.atomic``): a report built or read meanwhile never
    finds a figure missing or half written."""
    png, svg = directory / f"{name}.png", directory / f"{name}.svg"
    figure = drawing.figure
    write_atomically(
        png, lambda file: figure.savefig(file, format="png", dpi=PNG_DPI, metadata={"Software": None}), "wb"
    )
    # the PNG's draw placed everything; laying out again for the SVG would only repeat it
    figure.set_layout_engine("none")
    write_atomically(svg, lambda file: figure.savefig(file, format="svg", metadata={"Date": None}), "wb")
    return FigureFile(name, title, drawing.caption, png, svg)
