"""bench.png: trial-steps/s and samples/s against the ensemble size, one line per configuration and
batch size, so a reader sees where the device saturates (where a line flattens, more members no
longer come for free). Both axes are logarithmic: sizes double, rates span decades.

Drawn on a ``matplotlib.figure.Figure`` without pyplot, in a seaborn style context, like the
report's figures, so it opens no window and leaves matplotlib's global state alone.
"""

from __future__ import annotations

import io

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

PNG_DPI = 110
PANELS = {"trial_steps_per_s": "trial-steps/s (training)", "samples_per_s": "samples/s (sampling)"}


def bench_figure(frame: pd.DataFrame) -> Figure:
    lines = frame.assign(line=frame.config + ", batch " + frame.batch_size.astype(str))
    devices = ", ".join(frame.device.unique())
    sizes = sorted(frame.ensemble.unique())
    with sns.axes_style("whitegrid"):
        figure = Figure(figsize=(10, 4), layout="constrained")
        axes = figure.subplots(1, len(PANELS))
        for ax, (column, label) in zip(axes, PANELS.items(), strict=True):
            measured = lines.dropna(subset=[column])
            if not measured.empty:
                sns.lineplot(
                    data=measured,
                    x="ensemble",
                    y=column,
                    hue="line",
                    marker="o",
                    ax=ax,
                    legend=ax is axes[-1],
                )
            ax.set(xscale="log", yscale="log", xlabel="ensemble size E (members)", ylabel=label)
            # ticks at the sizes measured, not at log decades: E = 1, 8, 32 reads as such
            ax.set_xticks(sizes, labels=[str(size) for size in sizes])
            ax.xaxis.set_minor_locator(NullLocator())
        if axes[-1].get_legend() is not None:
            sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1, 1), title=None, frameon=False)
        figure.suptitle(f"genbench bench on {devices}")
    return figure


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return buffer.getvalue()
