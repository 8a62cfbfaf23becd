"""What the report says, section by section, as document blocks (rendered by ``document``).

Each section opens with a sentence on how to read it; the glossary at the end defines every
column. A partial run (trials without a record or with a damaged file) or one with failed trials
says so at the top.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from genbench.records import TrialStatus
from genbench.report import glossary, tables
from genbench.report.data import ReportData
from genbench.report.document import (
    Block,
    Bullets,
    Contents,
    Definitions,
    Heading,
    Image,
    Paragraph,
    Table,
)
from genbench.report.figures import FigureFile
from genbench.report.pairwise import (
    METRIC,
    MIN_SEEDS_FOR_POWER,
    REFERENCE,
    significant_findings,
    smallest_p_value,
    underpowered_sizes,
)
from genbench.report.stability import GRAD_NORM_SIGNALS

#: missing trial ids listed before the list is cut short
MISSING_LISTED = 20


@dataclass(frozen=True)
class Results:
    """What the report computed: the raw frames the sections show."""

    aggregate: pd.DataFrame
    outcomes: pd.DataFrame
    trial_stability: pd.DataFrame
    group_stability: pd.DataFrame
    comparison: pd.DataFrame
    figures: list[FigureFile]


def display_tables(data: ReportData, results: Results) -> dict[str, pd.DataFrame]:
    """The tables the document shows, by file name, formatted for reading."""
    keys, groups = data.group_keys, results.group_stability
    shown = {
        "headline": tables.headline_table(results.aggregate, data.metric, keys),
        "outcomes": tables.outcomes_table(results.outcomes, groups, keys),
        "dynamics": tables.dynamics_table(groups, keys),
        "gradients": tables.gradients_table(groups, keys),
        "metrics": tables.metrics_table(results.aggregate, keys),
    }
    if not results.comparison.empty:
        shown["comparison"] = tables.comparison_table(results.comparison, keys)
    return shown


def report_blocks(data: ReportData, results: Results) -> list[Block]:
    blocks: list[Block] = [Heading(f"genbench report: {data.run_info.suite}", 1)]
    if data.run_info.description:
        blocks.append(Paragraph(data.run_info.description.strip()))
    blocks += [Paragraph(provenance(data)), Contents()]
    blocks += summary(data)
    if not data.trials.empty:
        shown = display_tables(data, results)
        blocks += headline(data, results, shown)
        blocks += comparison(data, results, shown)
        blocks += figures(results)
        blocks += stability(data, results, shown)
        blocks += all_metrics(shown)
    blocks += problems(data)
    blocks += damaged(data)
    blocks += settings(data)
    blocks += environment(data)
    blocks += [Heading("Glossary"), Definitions(glossary.terms(data.metrics))]
    return blocks


def provenance(data: ReportData) -> str:
    info = data.run_info
    parts = [f"Run folder `{data.run_dir}`", f"suite hash `{info.suite_hash}`", f"started {info.created_at}"]
    return ", ".join(parts) + ". Built from the stored results by `genbench report`."


def summary(data: ReportData) -> list[Block]:
    expected = len(data.run_info.trial_ids) or len(data.trials)
    counts = data.trials["status"].value_counts()
    statuses = ", ".join(f"{int(counts.get(s.value, 0))} {s.value}" for s in TrialStatus)
    if data.group_keys:
        plural = "" if len(data.groups) == 1 else "s"
        keys = data.group_keys
        named = keys[0] if len(keys) == 1 else f"{', '.join(keys[:-1])} and {keys[-1]}"
        grouping = f"in {len(data.groups)} group{plural} by {named}"
    else:
        grouping = "in one group (the grid varies nothing but the seed)"
    blocks: list[Block] = [
        Heading("Summary"),
        Paragraph(f"{len(data.trials)} of {expected} trials recorded ({statuses}), {grouping}."),
    ]
    if data.missing:
        listed = ", ".join(f"`{tid}`" for tid in data.missing[:MISSING_LISTED])
        more = f" and {len(data.missing) - MISSING_LISTED} more" if len(data.missing) > MISSING_LISTED else ""
        blocks.append(
            Paragraph(
                f"Partial run: {len(data.missing)} of {expected} trials have no record yet (still "
                f"running, interrupted, or not started): {listed}{more}. Everything below uses the "
                "recorded trials only; run `genbench run` on the suite again to complete the run."
            )
        )
    if data.damaged:
        blocks.append(
            Paragraph(
                f"Damaged files: {len(data.damaged)} of {expected} trials have a file that cannot be read "
                "and are left out of everything below; they are listed under 'Damaged trials'. "
                "`genbench run` of the suite into this folder moves them aside and runs them again."
            )
        )
    if data.metric_note:
        blocks.append(Paragraph(f"Note: {data.metric_note}."))
    failed = int(counts.get(TrialStatus.FAILED.value, 0))
    if failed:
        blocks.append(
            Paragraph(
                f"{failed} of them failed (crashed) and have no results; their messages are under "
                "'Failed and diverged trials'. `genbench run` retries failed trials."
            )
        )
    return blocks


def headline(data: ReportData, results: Results, shown: dict[str, pd.DataFrame]) -> list[Block]:
    level = f"{data.settings.confidence:.0%}"
    return [
        Heading(f"Headline metric: {data.metric}"),
        *findings(data, results),
        Paragraph(
            f"Final {glossary.metric_label(data.metric)} per group across its finished seeds "
            f"({glossary.direction(data.metric)}); CI: {level} bootstrap "
            "interval of the mean."
        ),
        Table(shown["headline"]),
    ]


def findings(data: ReportData, results: Results) -> list[Block]:
    """What the pairwise comparison lets a reader conclude, first: the differences that are
    significant after Holm, or that none is."""
    if results.comparison.empty or (results.comparison["verdict"] == REFERENCE).all():
        return []
    metrics = ", ".join(dict.fromkeys(results.comparison[METRIC]))
    alpha = f"Holm p < {data.settings.alpha:g}"
    sentences = significant_findings(results.comparison)
    if not sentences:
        return [Paragraph(f"No group differs significantly from its reference in {metrics} ({alpha}).")]
    return [Paragraph(f"Significant differences ({alpha}, in {metrics}):"), Bullets(tuple(sentences))]


def comparison(data: ReportData, results: Results, shown: dict[str, pd.DataFrame]) -> list[Block]:
    metrics = listed(list(dict.fromkeys(results.comparison[METRIC]))) if not results.comparison.empty else ""
    text = (
        f"Final {metrics or data.metric} of each group against a reference group: two-sided Mann-Whitney U "
        f"test, Holm-corrected over the table (significant: Holm p < {data.settings.alpha:g}), and "
        "P(improvement), the probability that a seed of the group beats a seed of the reference, "
        "with its bootstrap interval. Only groups whose values are comparable (the same metric "
        "protocol: dataset and evaluation set) are compared; the row marked 'reference' is the "
        "reference of the groups that share its protocol."
    )
    blocks: list[Block] = [Heading("Pairwise comparison"), Paragraph(text)]
    frame = results.comparison
    if frame.empty or (frame["verdict"] == REFERENCE).all():
        return [*blocks, Paragraph("Nothing to compare: every group is its own reference.")]
    sizes = underpowered_sizes(frame)
    if sizes:
        reachable = "; ".join(f"{n} vs {m} seeds: {smallest_p_value(n, m):.2g}" for n, m in sizes)
        blocks.append(
            Paragraph(
                f"Underpowered: some comparisons have fewer than {MIN_SEEDS_FOR_POWER} finished seeds on "
                f"a side, so a real difference may not reach significance (smallest p the test can reach "
                f"with {reachable}). Read 'no significant difference' as 'not enough seeds to tell'; add "
                "seeds to the suite's grid for a conclusive comparison."
            )
        )
    return [*blocks, Table(shown["comparison"])]


def listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def figures(results: Results) -> list[Block]:
    blocks: list[Block] = [Heading("Figures")]
    for file in results.figures:
        blocks += [Heading(file.title, 3), Image(file)]
    return blocks


def stability(data: ReportData, results: Results, shown: dict[str, pd.DataFrame]) -> list[Block]:
    groups = results.group_stability
    blocks: list[Block] = [
        Heading("Stability"),
        Heading("Outcomes", 3),
        Paragraph(
            "How often training diverged or crashed and how often it reached the success criterion, "
            + (f"here: {data.success.description}" if data.success else "none here (the suite sets none)")
            + f". Shares with {data.settings.confidence:.0%} Wilson intervals."
        ),
        Table(shown["outcomes"]),
        Heading("Training dynamics", 3),
        Paragraph(
            f"How training got there (metric: {data.metric}): how much the metric and the losses still "
            "swing at the end of training (oscillation), mode hopping, the fall from the best value seen, "
            "and the spread of the final value across seeds; the glossary defines each column."
        ),
        Table(shown["dynamics"]),
    ]
    if any(groups[f"{signal}_median"].notna().any() for signal in GRAD_NORM_SIGNALS):
        blocks += [
            Heading("Gradient norms", 3),
            Paragraph("Parameter-gradient norms of the generator (G) and discriminator (D) during training."),
            Table(shown["gradients"]),
        ]
    return blocks


def all_metrics(shown: dict[str, pd.DataFrame]) -> list[Block]:
    return [
        Heading("All final metrics"),
        Paragraph(
            "Mean ± std across finished seeds of every final metric; the full statistics (median, IQM, "
            "min, max, CI) of each are in `tables/metrics.csv`."
        ),
        Table(shown["metrics"]),
    ]


def problems(data: ReportData) -> list[Block]:
    table = tables.problems_table(data.trials, data.group_keys)
    if table.empty:
        return []
    return [
        Heading("Failed and diverged trials"),
        Paragraph(
            "Diverged trials trained until their losses or samples stopped being finite; failed ones crashed."
        ),
        Table(table),
    ]


def damaged(data: ReportData) -> list[Block]:
    if not data.damaged:
        return []
    rows = [
        {"trial": trial_id, "file": str(damage.path), "problem": damage.problem}
        for trial_id, damage in data.damaged.items()
    ]
    return [
        Heading("Damaged trials"),
        Paragraph(
            "Trials with a file that is not what genbench wrote there (cut short, empty, or overwritten); "
            "nothing in the report uses them, and building it moved nothing."
        ),
        Table(pd.DataFrame(rows)),
    ]


def settings(data: ReportData) -> list[Block]:
    s = data.settings
    reference = s.reference or "the first group of each set of comparable groups"
    groups = ", ".join(f"`{key}`" for key in data.group_keys) or "the whole suite"
    success = data.success.description if data.success else "none (the suite sets no report.success)"
    return [
        Heading("Settings"),
        Bullets(
            (
                f"headline metric: `{data.metric}` ({glossary.direction(data.metric)})",
                f"groups: {groups}; seeds are replicates",
                f"reference group: {reference}",
                f"success: {success}",
                f"intervals: {s.confidence:.0%}; bootstrap with {s.bootstrap_resamples} resamples, seed "
                f"{s.bootstrap_seed}; significance level {s.alpha:g} (Holm)",
                f"oscillation: rolling window of {s.rolling_window} evaluations over the last "
                f"{s.tail_fraction:.0%} of them",
            )
        ),
    ]


def environment(data: ReportData) -> list[Block]:
    """Versions and devices the trials ran with; differing values across trials are all listed."""
    values: dict[str, list[str]] = {}
    for key, value in data.run_info.environment.items():
        values.setdefault(key, []).append(value)
    for record in data.records.values():
        for key, value in record.environment.items():
            values.setdefault(key, []).append(value)
    if not values:
        return []
    rows = [{"": key, "value": ", ".join(dict.fromkeys(found))} for key, found in values.items()]
    return [Heading("Environment"), Table(pd.DataFrame(rows))]
