"""`genbench check` and `genbench compare`: a run against a baseline, or two runs, cell by cell.

This module decides whether two sides can be compared at all and gathers the rows; the verdicts come
from ``genbench.check.rule``. Unusable input (cells or metrics missing, a metric computed under
another protocol, a changed protocol without ``allow_suite_change``, a corrupted baseline, an alpha
or tolerance that is not a finite number in range) raises a ``GenbenchError``, which the CLI turns
into exit code 2, so that a check never passes by comparing things that are not alike.

The protocol, not the subject, must match (``genbench.check.protocol``): new pretrained weights are
checked against the baseline's, and the result says which weights each side measured. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from genbench.check.baseline import Baseline, MetricRule, load_baseline, summarize_run
from genbench.check.protocol import echo_value, protocol_changes
from genbench.check.result import CheckResult, Subject
from genbench.check.rule import RowInput, compare_rows
from genbench.errors import GenbenchError
from genbench.settings import Tolerance

#: environment entries worth a note when they differ: they can shift the numbers
NOTED_ENVIRONMENT = ("genbench", "torch", "device")
MAX_LISTED_PROBLEMS = 10


def parse_tolerance(text: str) -> tuple[str, Tolerance]:
    """``METRIC=VALUE`` sets an absolute tolerance, ``METRIC=VALUE%`` a relative one."""
    metric, separator, value = text.partition("=")
    relative = value.strip().endswith("%")
    try:
        number = float(value.strip().removesuffix("%"))
    except ValueError:
        number = math.nan
    # float() reads "nan" and "inf", which would turn the check off: only a finite VALUE is a band
    if not separator or not metric.strip() or not (math.isfinite(number) and number >= 0):
        raise GenbenchError(
            f"tolerance '{text}' is not METRIC=VALUE (absolute) or METRIC=VALUE% (relative), "
            "with a finite, non-negative VALUE, e.g. modes_covered=1 or hq_fraction=10%"
        )
    tolerance = Tolerance(relative=number / 100) if relative else Tolerance(absolute=number)
    return metric.strip(), tolerance


def check_run(
    run_dir: Path | str,
    baseline_file: Path | str,
    allow_suite_change: bool = False,
    alpha: float | None = None,
    tolerances: dict[str, Tolerance] | None = None,
) -> CheckResult:
    """Check a finished run against a baseline file: every cell and metric of the baseline.

    ``alpha`` and ``tolerances`` override the baseline's for this check. Raises GenbenchError on
    unusable input; the result's ``exit_code`` is 1 when a row regressed. A run of other
    pretrained weights under the baseline's protocol is checked, not refused: that is the point.
    """
    validate_alpha(alpha)
    baseline = load_baseline(baseline_file)
    current = summarize_run(run_dir, list(baseline.metrics))
    problems = missing_cells(baseline, current) + protocol_problems(baseline, current, list(baseline.cells))
    problems += direction_problems(baseline, current)
    notes = []
    changes = [f"the suite changed: {change}" for change in suite_changes(baseline, current)]
    if changes and not allow_suite_change:
        problems += [
            *changes,
            "write the baseline again if the change is intended, "
            "or pass --allow-suite-change to check the cells the baseline has",
        ]
    notes += [f"{change}; allowed by --allow-suite-change" for change in changes]
    if problems:
        raise unusable(f"{run_dir} cannot be checked against {baseline_file}", problems)
    if current.suite != baseline.suite:
        notes.append(f"the baseline is of suite '{baseline.suite}', the run of '{current.suite}'")
    notes += extra_cell_notes(baseline, current) + environment_notes(baseline, current)
    notes += settings_notes(baseline, current)
    title = f"genbench check: {run_dir} against {baseline_file}"
    return compare_sides(title, baseline, current, list(baseline.cells), alpha, tolerances or {}, notes)


def compare_runs(
    run_a: Path | str,
    run_b: Path | str,
    metrics: list[str] | None = None,
    alpha: float | None = None,
    tolerances: dict[str, Tolerance] | None = None,
) -> CheckResult:
    """Run B against run A as if A were the baseline, on the cells the two share.

    ``metrics`` default to run A's ``check.metrics`` (or every final metric with a direction); the
    tolerances and alpha are run A's unless given.
    """
    validate_alpha(alpha)
    side_a = summarize_run(run_a, metrics)
    side_b = summarize_run(run_b, list(side_a.metrics))
    shared = [key for key in side_a.cells if key in side_b.cells]
    if not shared:
        raise GenbenchError(f"{run_a} and {run_b} have no cell in common; nothing to compare")
    problems = protocol_problems(side_a, side_b, shared)
    if problems:
        raise unusable(f"{run_a} and {run_b} cannot be compared", problems)
    notes = [f"only in {run_a}, not compared: {key}" for key in side_a.cells if key not in side_b.cells]
    notes += extra_cell_notes(side_a, side_b) + environment_notes(side_a, side_b)
    title = f"genbench compare: {run_b} against {run_a}"
    return compare_sides(title, side_a, side_b, shared, alpha, tolerances or {}, notes)


def compare_sides(
    title: str,
    baseline: Baseline,
    current: Baseline,
    cells: list[str],
    alpha: float | None,
    overrides: dict[str, Tolerance],
    notes: list[str],
) -> CheckResult:
    unknown = sorted(set(overrides) - set(baseline.metrics))
    if unknown:
        raise GenbenchError(
            f"a tolerance was given for {', '.join(unknown)}, which the check does not cover; "
            f"checked metrics: {', '.join(baseline.metrics)}"
        )
    rules = {
        metric: rule.model_copy(update={"tolerance": overrides.get(metric, rule.tolerance)})
        for metric, rule in baseline.metrics.items()
    }
    notes = notes + [
        f"tolerance of {metric} set on the command line: {describe(tolerance)}"
        for metric, tolerance in overrides.items()
    ]
    inputs = [
        row_input(cell, metric, rule, baseline, current) for cell in cells for metric, rule in rules.items()
    ]
    alpha = alpha if alpha is not None else baseline.alpha
    rows = compare_rows(inputs, alpha)
    return CheckResult(title, rows, alpha, notes, subjects(baseline, current, cells))


def validate_alpha(alpha: float | None) -> None:
    """An alpha given for one check, refused unless it is in (0, 1): at alpha 0 (or NaN, which
    compares false) no change is ever significant. Tolerances are ``Tolerance``s, finite and >= 0
    by construction (``parse_tolerance`` builds them)."""
    if alpha is not None and not 0 < alpha < 1:
        raise GenbenchError(f"alpha must be a number between 0 and 1 (both excluded), e.g. 0.05; got {alpha}")


def suite_changes(baseline: Baseline, current: Baseline) -> list[str]:
    """How the run's protocol differs from the baseline's, cell by cell: settings, seeds, added
    cells. One line per distinct change, naming the cells it affects. The subject may differ."""
    affected: dict[str, list[str]] = {}
    for key, cell in baseline.cells.items():
        if key not in current.cells:
            continue
        now = current.cells[key]
        changes = protocol_changes(cell.protocol, now.protocol)
        seeds_before, seeds_now = [seed.seed for seed in cell.seeds], [seed.seed for seed in now.seeds]
        if seeds_before != seeds_now:
            changes.append(f"seeds {echo_value(seeds_before)} -> {echo_value(seeds_now)}")
        if changes:
            affected.setdefault(", ".join(changes), []).append(key)
    lines = [f"{change} in {listed(cells)}" for change, cells in affected.items()]
    added = [key for key in current.cells if key not in baseline.cells]
    if added:
        lines.append(f"cells not in the baseline: {listed(added)}")
    return lines


def listed(names: list[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def subjects(baseline: Baseline, current: Baseline, cells: list[str]) -> list[Subject]:
    """The pretrained weights each side measured, grouped over the cells that share them; none
    where both sides trained their models (then the code is what is checked)."""
    grouped: dict[tuple[tuple[str | None, ...], tuple[str | None, ...]], list[str]] = {}
    for key in cells:
        before = distinct(seed.weights_sha256 for seed in baseline.cells[key].seeds)
        now = distinct(seed.weights_sha256 for seed in current.cells[key].seeds)
        if before != (None,) or now != (None,):
            grouped.setdefault((before, now), []).append(key)
    return [Subject(keys, list(before), list(now)) for (before, now), keys in grouped.items()]


def distinct(values: Iterable[str | None]) -> tuple[str | None, ...]:
    return tuple(dict.fromkeys(values))


def row_input(cell: str, metric: str, rule: MetricRule, baseline: Baseline, current: Baseline) -> RowInput:
    return RowInput(
        group=cell,
        metric=metric,
        baseline=baseline.cells[cell].values(metric),
        current=current.cells[cell].values(metric),
        higher_is_better=rule.higher_is_better,
        tolerance=rule.tolerance,
    )


def unusable(headline: str, problems: list[str]) -> GenbenchError:
    listed = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(listed)
    lines = [f"{headline}:", *(f"  - {problem}" for problem in listed)]
    if more:
        lines.append(f"  - and {more} more")
    return GenbenchError("\n".join(lines))


def missing_cells(baseline: Baseline, current: Baseline) -> list[str]:
    absent = [key for key in baseline.cells if key not in current.cells]
    return [f"cell '{key}' of the baseline is not in the run" for key in absent]


def protocol_problems(baseline: Baseline, current: Baseline, cells: list[str]) -> list[str]:
    """Values are comparable only when computed the same way; a side with no finished seed has
    no protocol, and its missing values are judged by the rule instead. One problem per distinct
    change, naming every cell/metric it affects."""
    affected: dict[str, list[str]] = {}
    for key in cells:
        if key not in current.cells:
            continue
        for metric, summary in baseline.cells[key].metrics.items():
            before, now = summary.protocol, current.cells[key].metrics[metric].protocol
            if before and now and before != now:
                change = ", ".join(
                    f"{name} {before.get(name)!r} -> {now.get(name)!r}"
                    for name in sorted(set(before) | set(now))
                    if before.get(name) != now.get(name)
                )
                affected.setdefault(change, []).append(f"{key} / {metric}")
    return [f"computed differently now ({change}): {', '.join(rows)}" for change, rows in affected.items()]


def direction_problems(baseline: Baseline, current: Baseline) -> list[str]:
    return [
        f"metric '{metric}' is now {'higher' if current.metrics[metric].higher_is_better else 'lower'}"
        "-is-better, unlike in the baseline; write the baseline again"
        for metric, rule in baseline.metrics.items()
        if rule.higher_is_better != current.metrics[metric].higher_is_better
    ]


def extra_cell_notes(baseline: Baseline, current: Baseline) -> list[str]:
    return [f"not in the baseline, not checked: {key}" for key in current.cells if key not in baseline.cells]


def environment_notes(baseline: Baseline, current: Baseline) -> list[str]:
    return [
        f"{name}: {baseline.environment.get(name)} in the baseline, {current.environment.get(name)} now"
        for name in NOTED_ENVIRONMENT
        if baseline.environment.get(name) != current.environment.get(name)
    ]


def settings_notes(baseline: Baseline, current: Baseline) -> list[str]:
    """The baseline's tolerances and alpha apply (changing them is a reviewed change to the
    baseline); say so when the run's suite asks for others, so nobody wonders why an edit did nothing."""
    notes = [
        f"the suite sets the tolerance of {metric} to {describe(current.metrics[metric].tolerance)}, "
        f"the baseline's {describe(rule.tolerance)} applies; write the baseline again to adopt it"
        for metric, rule in baseline.metrics.items()
        if current.metrics[metric].tolerance != rule.tolerance
    ]
    if current.alpha != baseline.alpha:
        notes.append(f"the suite sets alpha={current.alpha:g}, the baseline's {baseline.alpha:g} applies")
    return notes


def describe(tolerance: Tolerance) -> str:
    parts = []
    if tolerance.absolute is not None:
        parts.append(f"absolute {tolerance.absolute:g}")
    if tolerance.relative is not None:
        parts.append(f"relative {tolerance.relative:.3g}")
    return " and ".join(parts) or "none"
