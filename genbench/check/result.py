"""The result of a check or a comparison, and its renderings: a table for the terminal, Markdown
for CI job summaries, JSON for tools. Torch-free."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from genbench.atomic import write_json_atomically, write_text_atomically
from genbench.check.rule import ComparisonRow, Verdict, rule_text
from genbench.replicates import Summary

CHECK_JSON = "check.json"
CHECK_MARKDOWN = "check.md"
TABLE_HEADERS = ["group", "metric", "baseline", "current", "delta", "p-value", "verdict"]
#: hex digits of a sha256 shown in text; the JSON has all of them
SHORT_SHA = 12


@dataclass(frozen=True)
class Subject:
    """What some cells measured on each side: the sha256 of the pretrained weights (None: a model
    that the trial trained). A check of new weights must say which weights it compared."""

    cells: list[str]
    baseline: list[str | None]
    current: list[str | None]

    def text(self, name_cells: bool) -> str:
        where = f" of {', '.join(self.cells)}" if name_cells else ""
        now = describe_weights(self.current, "pretrained weights sha256 ")
        if self.current == self.baseline:
            return f"subject{where}: {now}, same as the baseline"
        return f"subject{where}: {now} (baseline: {describe_weights(self.baseline, '')})"

    def as_json(self) -> dict[str, Any]:
        return {"cells": self.cells, "baseline": self.baseline, "current": self.current}


def describe_weights(digests: list[str | None], prefix: str) -> str:
    if digests == [None]:
        return "a model trained by the trial"
    return prefix + ", ".join("none" if digest is None else digest[:SHORT_SHA] for digest in digests)


@dataclass(frozen=True)
class CheckResult:
    """The rows of a check with everything needed to read them: the rule, alpha, notes and the
    subjects compared."""

    title: str
    rows: list[ComparisonRow]
    alpha: float
    notes: list[str]
    subjects: list[Subject] = field(default_factory=list)

    @property
    def regressions(self) -> list[ComparisonRow]:
        return [row for row in self.rows if row.verdict == Verdict.REGRESSED]

    @property
    def exit_code(self) -> int:
        """0 when nothing regressed, 1 otherwise (2, unusable input, is raised before a result exists)."""
        return 1 if self.regressions else 0

    @property
    def rule(self) -> str:
        return rule_text(self.alpha, sum(row.tested for row in self.rows))

    def summary(self) -> str:
        counts = {verdict: sum(row.verdict == verdict for row in self.rows) for verdict in Verdict}
        outcome = "REGRESSED" if self.regressions else "passed"
        return f"{outcome}: " + ", ".join(f"{counts[v]} {v.value}" for v in Verdict) + f" of {len(self.rows)}"

    def text(self) -> str:
        """For a terminal or a CI log."""
        return self.render("simple", lambda heading: heading)

    def markdown(self) -> str:
        """For a CI artifact or a GitHub Actions job summary."""
        return self.render("github", lambda heading: f"### {heading}")

    def render(self, table_format: str, heading: Callable[[str], str]) -> str:
        rows = [table_row(row) for row in self.rows]
        table = tabulate(rows, TABLE_HEADERS, tablefmt=table_format, disable_numparse=True)
        parts = [heading(self.title), self.summary()]
        if len(self.subjects) == 1:
            parts.append(self.subjects[0].text(name_cells=False))
        elif self.subjects:
            parts.append("\n".join(f"- {subject.text(name_cells=True)}" for subject in self.subjects))
        parts.append(table)
        if self.regressions:
            listed = "\n".join(f"- {row.group} / {row.metric}: {row.reason}" for row in self.regressions)
            parts.append(f"{heading('Regressions')}\n{listed}")
        parts.append(f"{heading('Rule')}\n{self.rule}")
        if self.notes:
            parts.append(heading("Notes") + "\n" + "\n".join(f"- {note}" for note in self.notes))
        return "\n\n".join(parts) + "\n"

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "summary": self.summary(),
            "exit_code": self.exit_code,
            "alpha": self.alpha,
            "rule": self.rule,
            "notes": self.notes,
            "subjects": [subject.as_json() for subject in self.subjects],
            "rows": [row_json(row) for row in self.rows],
        }

    def write(self, directory: Path | str) -> list[Path]:
        """Write ``check.json`` and ``check.md`` into ``directory`` (CI artifacts)."""
        directory = Path(directory)
        write_json_atomically(directory / CHECK_JSON, self.as_json())
        write_text_atomically(directory / CHECK_MARKDOWN, self.markdown())
        return [directory / CHECK_JSON, directory / CHECK_MARKDOWN]


def row_json(row: ComparisonRow) -> dict[str, Any]:
    return {
        "group": row.group,
        "metric": row.metric,
        "higher_is_better": row.higher_is_better,
        "baseline": row.baseline.model_dump(),
        "current": row.current.model_dump(),
        "delta": row.delta,
        "band": row.band,
        "p_value": row.p_value,
        "tested": row.tested,
        "verdict": row.verdict.value,
        "reason": row.reason,
    }


def table_row(row: ComparisonRow) -> list[str]:
    def side(summary: Summary) -> str:
        if summary.mean is None:
            return f"- (n={summary.n})"
        spread = f" ± {summary.std:.3g}" if summary.std is not None else ""
        return f"{summary.mean:.4g}{spread} (n={summary.n})"

    delta = "-" if row.delta is None else f"{row.delta:+.3g}"
    p_value = "band only" if row.p_value is None else f"{row.p_value:.2g}"
    verdict = row.verdict.value.upper() if row.verdict == Verdict.REGRESSED else row.verdict.value
    return [row.group, row.metric, side(row.baseline), side(row.current), delta, p_value, verdict]
