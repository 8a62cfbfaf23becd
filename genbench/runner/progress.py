"""Progress bars: one for the suite, one per running ensemble (a trial alone is an ensemble of
one), with rich. Silent when quiet. Members of an ensemble train in lockstep, so one bar says it
all; 64 bars for one ensemble would say it 64 times."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from genbench.records import TrialStatus
from genbench.spec import Trial


class SuiteProgress:
    def __init__(self, ensembles: list[list[Trial]], quiet: bool, console: Console | None = None) -> None:
        trials = [trial for ensemble in ensembles for trial in ensemble]
        self.labels = {trial.id: trial_label(trial) for trial in trials}
        #: trial id -> the label of its ensemble's bar, and the members still running under it
        self.bar_of = {trial.id: ensemble_label(ensemble) for ensemble in ensembles for trial in ensemble}
        self.running: dict[str, set[str]] = {}
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
            transient=False,
        )
        self.suite_task = self.progress.add_task("suite", total=len(trials))
        self.trial_tasks: dict[str, int] = {}

    def __enter__(self) -> SuiteProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.__exit__(*exc_info)

    def trial_step(self, trial_id: str, done: int, total: int) -> None:
        bar = self.bar_of[trial_id]
        if bar not in self.trial_tasks:
            self.trial_tasks[bar] = self.progress.add_task(f"  {bar}", total=total)
        self.running.setdefault(bar, set()).add(trial_id)
        self.progress.update(self.trial_tasks[bar], completed=done)

    def trial_done(self, trial_id: str, status: TrialStatus) -> None:
        self.leave_bar(trial_id)
        self.progress.advance(self.suite_task)
        if status is not TrialStatus.FINISHED:
            self.progress.console.print(f"[yellow]{status.value}[/]: {self.labels[trial_id]}")

    def trial_retried(self, trial_id: str, attempt: int, attempts: int) -> None:
        """The trial failed and will run again, alone, as attempt ``attempt`` of at most
        ``attempts``: said, but not counted done (genbench.runner.retries)."""
        self.leave_bar(trial_id)
        label = self.labels[trial_id]
        self.bar_of[trial_id] = f"{label} (attempt {attempt})"
        self.progress.console.print(
            f"[yellow]failed[/]: {label}; running it again (attempt {attempt} of {attempts})"
        )

    def leave_bar(self, trial_id: str) -> None:
        """The trial no longer runs under its bar; the bar goes with its last running member."""
        bar = self.bar_of[trial_id]
        members = self.running.get(bar, set())
        members.discard(trial_id)
        if not members and bar in self.trial_tasks:
            self.progress.remove_task(self.trial_tasks.pop(bar))
            self.running.pop(bar, None)


def trial_label(trial: Trial) -> str:
    return " ".join(f"{key}={value}" for key, value in trial.grid.items()) or trial.id


def ensemble_label(ensemble: list[Trial]) -> str:
    """A trial's label, or for an ensemble the grid labels its members share and how many
    trials train together."""
    if len(ensemble) == 1:
        return trial_label(ensemble[0])
    first = ensemble[0].grid
    shared = " ".join(
        f"{key}={value}" for key, value in first.items() if all(t.grid.get(key) == value for t in ensemble)
    )
    return f"{shared} ({len(ensemble)} trials together)".strip()
