"""Progress bars: one for the suite, one per running trial (rich). Silent when quiet."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from genbench.records import TrialStatus
from genbench.spec import Trial


class SuiteProgress:
    def __init__(self, trials: list[Trial], quiet: bool, console: Console | None = None) -> None:
        self.labels = {trial.id: trial_label(trial) for trial in trials}
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
        if trial_id not in self.trial_tasks:
            self.trial_tasks[trial_id] = self.progress.add_task(f"  {self.labels[trial_id]}", total=total)
        self.progress.update(self.trial_tasks[trial_id], completed=done)

    def trial_done(self, trial_id: str, status: TrialStatus) -> None:
        task = self.trial_tasks.pop(trial_id, None)
        if task is not None:
            self.progress.remove_task(task)
        self.progress.advance(self.suite_task)
        if status is not TrialStatus.FINISHED:
            self.progress.console.print(f"[yellow]{status.value}[/]: {self.labels[trial_id]}")


def trial_label(trial: Trial) -> str:
    return " ".join(f"{key}={value}" for key, value in trial.grid.items()) or trial.id
