"""Reports of a run: aggregation across seeds, stability summaries, pairwise comparisons, figures,
and one document (``report.md`` and a self-contained ``report.html``), from stored results alone."""

from genbench.report.build import build_report

__all__ = ["build_report"]
