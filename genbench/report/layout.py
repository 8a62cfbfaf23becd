"""What the report's figures share: how groups are split over panels, colours, one legend.

A figure puts a row of panels per value of the first group key, a column per value of the next,
and a line colour per value of the last, so that every panel holds a few lines a reader can tell
apart. With the default suite's keys (dataset, loss, optimizer): a row per dataset, a panel per
loss, a colour per optimizer. Figures are ``matplotlib.figure.Figure`` objects, not pyplot ones,
so drawing leaves no global state behind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from genbench.replicates import GROUP_SEPARATOR

#: panel size (inches) and the width kept for a legend on the right
PANEL_WIDTH = 2.5
PANEL_HEIGHT = 2.1
LEGEND_WIDTH = 2.4


@dataclass(frozen=True)
class Drawing:
    """A drawn figure and the caption the report shows under it."""

    figure: Figure
    caption: str


@dataclass(frozen=True)
class Layout:
    row: str | None
    column: str | None
    hue: str | None

    @classmethod
    def of(cls, group_keys: list[str]) -> Layout:
        keys = list(group_keys)
        if len(keys) <= 1:
            return cls(None, None, keys[0] if keys else None)
        if len(keys) == 2:
            return cls(None, keys[0], keys[1])
        return cls(keys[0], keys[1], GROUP_SEPARATOR.join(keys[2:]))

    def with_hue(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with a joined column when the colour stands for several keys."""
        if self.hue is None or self.hue in frame.columns:
            return frame
        return frame.assign(
            **{self.hue: frame[self.hue.split(GROUP_SEPARATOR)].agg(GROUP_SEPARATOR.join, axis=1)}
        )

    def panels(self, frame: pd.DataFrame) -> list[list[tuple[str, pd.DataFrame]]]:
        """Rows of (title, the frame's rows in that panel); empty parts where the grid has gaps."""
        rows = ordered(frame[self.row]) if self.row else [None]
        columns = ordered(frame[self.column]) if self.column else [None]
        grid = []
        for row in rows:
            in_row = frame[frame[self.row] == row] if self.row else frame
            cells = []
            for column in columns:
                part = in_row[in_row[self.column] == column] if self.column else in_row
                cells.append((GROUP_SEPARATOR.join(str(v) for v in (row, column) if v is not None), part))
            grid.append(cells)
        return grid


def ordered(values: pd.Series) -> list:
    return list(dict.fromkeys(values))


def palette(levels: list) -> dict:
    colours = sns.color_palette("tab10" if len(levels) <= 10 else "husl", len(levels))
    return dict(zip(levels, colours, strict=True))


def panel_figure(rows: int, columns: int, legend: bool, **subplots) -> tuple[Figure, np.ndarray]:
    width = PANEL_WIDTH * columns + (LEGEND_WIDTH if legend else 0)
    figure = Figure(figsize=(width, PANEL_HEIGHT * rows + 0.5), layout="constrained")
    return figure, figure.subplots(rows, columns, squeeze=False, **subplots)


def shared_legend(figure: Figure, axes: np.ndarray, title: str | None) -> None:
    """One legend outside the panels, right, merging every panel's entries (a panel may lack some)."""
    entries: dict[str, object] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if entries:
        figure.legend(
            list(entries.values()), list(entries), loc="outside right upper", title=title, frameon=False
        )
