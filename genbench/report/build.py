"""Build a run's report from its stored results: tables, figures, ``report.md`` and ``report.html``.

Written into ``<run>/report/``::

    report.md, report.html      the document (the HTML is self-contained: figures embedded)
    tables/*.csv                full-precision frames: metrics (every group x final metric with
                                its seed statistics), outcomes, stability_trials, stability_groups,
                                comparison
    tables/*.md                 the display tables the document shows
    figures/*.png, *.svg        every figure in both formats

Reads only what the store wrote, so ``genbench report`` rebuilds it anywhere, without a GPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from genbench.atomic import write_atomically, write_text_atomically
from genbench.report.aggregate import aggregate_metrics, outcome_rates
from genbench.report.data import ReportData, load_report_data
from genbench.report.document import to_html, to_markdown
from genbench.report.figures import write_figures
from genbench.report.pairwise import compare_with_reference
from genbench.report.sections import Results, display_tables, report_blocks
from genbench.report.stability import group_stability, trial_stability

REPORT_DIR = "report"
MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"


def build_report(run_dir: Path | str, group_by: list[str] | None = None, metric: str | None = None) -> Path:
    """Write the report of the run in ``run_dir`` and return the path of its ``report.html``.

    ``group_by`` (columns of the results table) and ``metric`` (a final metric) override the
    suite's ``report.group_by`` and ``report.metric``. Raises ``GenbenchError`` when the folder is
    not a run or an override names something the results do not have. Trials with a damaged file
    are left out, listed in the document and named on stderr.
    """
    data = load_report_data(run_dir, group_by, metric)
    for damage in data.damaged.values():
        print(f"warning: left out of the report: {damage}", file=sys.stderr)
    directory = data.run_dir / REPORT_DIR
    results = compute(data, directory)
    write_tables(data, results, directory / "tables")
    blocks = report_blocks(data, results)
    title = f"genbench report: {data.run_info.suite}"
    write_text_atomically(directory / MARKDOWN_FILE, to_markdown(blocks, directory))
    write_text_atomically(directory / HTML_FILE, to_html(blocks, title, directory))
    return directory / HTML_FILE


def compute(data: ReportData, directory: Path) -> Results:
    # drawn (and stale ones removed) even without trials: figures of trials that have since been
    # found damaged must not stay beside a report that leaves them out
    figures = write_figures(data, directory / "figures")
    per_trial = trial_stability(data) if len(data.trials) else pd.DataFrame()
    if per_trial.empty:
        return Results(pd.DataFrame(), pd.DataFrame(), per_trial, pd.DataFrame(), pd.DataFrame(), figures)
    return Results(
        aggregate=aggregate_metrics(data),
        outcomes=outcome_rates(per_trial, data.group_keys, data.settings.confidence),
        trial_stability=per_trial,
        group_stability=group_stability(per_trial, data.group_keys),
        comparison=compare_with_reference(data),
        figures=figures,
    )


def write_tables(data: ReportData, results: Results, directory: Path) -> None:
    """Write the raw and display tables; a table file of an earlier build that this one does not
    write is removed, so every table beside the report is the report's."""
    written: set[Path] = set()
    if not results.trial_stability.empty:
        written = write_table_files(data, results, directory)
    for path in [*directory.glob("*.csv"), *directory.glob("*.md")]:
        if path not in written:
            path.unlink()


def write_table_files(data: ReportData, results: Results, directory: Path) -> set[Path]:
    raw = {
        "metrics": results.aggregate,
        "outcomes": results.outcomes,
        "stability_trials": results.trial_stability,
        "stability_groups": results.group_stability,
        "comparison": results.comparison,
    }
    for name, frame in raw.items():
        write_atomically(directory / f"{name}.csv", lambda file, f=frame: f.to_csv(file, index=False))
    shown = display_tables(data, results)
    for name, frame in shown.items():
        write_text_atomically(
            directory / f"{name}.md", frame.to_markdown(index=False, disable_numparse=True) + "\n"
        )
    return {directory / f"{name}.csv" for name in raw} | {directory / f"{name}.md" for name in shown}
