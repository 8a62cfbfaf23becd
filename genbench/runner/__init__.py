"""Run a suite: sort its trials into done, stale and to do; form the rest into ensembles
(``genbench.runner.ensembles``) and hand them to an executor; collect the results from disk.

A trial is done when its folder holds an intact record of status finished or diverged, written by
the same code (``genbench.code_identity``). A record of other code is *stale*: its trial is run
again, unless the user keeps such records on purpose (``reuse_stale``), which the run then states
in ``run.json`` so a regression check can refuse to compare them. A damaged trial folder is set
aside (moved, never deleted) and its trial run again.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

import genbench
from genbench.clock import utc_now
from genbench.code_identity import CodeIdentity, code_identities, genbench_source_hash
from genbench.errors import GenbenchError
from genbench.records import DONE_STATUSES, RunInfo, RunSettings, TrialRecord, TrialStatus
from genbench.runner.batch import TrialBatch
from genbench.runner.devices import check_device_name, resolve_device
from genbench.runner.ensembles import ensemble_setting, form_ensembles, longest_first
from genbench.runner.executors import LOCAL, Executor, build_executor
from genbench.runner.executors.inline import InlineExecutor
from genbench.runner.executors.pool import ProcessPoolRunner
from genbench.runner.executors.settings import ExecutionSettings
from genbench.runner.gpus import default_gpu_workers, worker_gpus, workers_phrase
from genbench.runner.interrupts import interrupt_flag, interrupts_deferred
from genbench.runner.progress import SuiteProgress, trial_label
from genbench.runner.retries import check_retries, run_with_retries
from genbench.spec import Trial
from genbench.store import (
    HOLDER_FILE,
    LOCK_FILE,
    TRAINING_STATE_FILE,
    TRIALS_DIR,
    DamagedFile,
    RunStore,
    make_run_folder,
)

if TYPE_CHECKING:
    # the runner is handed a loaded suite: it reads no YAML (the suite stage sits above it)
    from genbench.suite import Suite


def default_run_dir(suite: Suite, results_root: Path = Path("results")) -> Path:
    """``results/<suite>/<hash>``: the same suite runs into the same folder, so a rerun resumes."""
    return results_root / suite.name / suite.content_hash[:8]


def worker_count(device: str, workers: int | None, in_process: bool) -> int:
    """The workers asked for; by default one worker process per CPU core on the CPU (each trial is
    small and single-threaded at best), one per GPU on CUDA, whose kernels are already parallel
    (genbench.runner.gpus); one (this process) when ``in_process``."""
    if in_process:
        return 1
    if workers is not None:
        return workers
    return (os.cpu_count() or 1) if device == "cpu" else default_gpu_workers(device)


def choose_executor(device: str, workers: int, batches: int, in_process: bool) -> Executor:
    """Batches run in worker processes even with one worker, so that a trial killed for memory
    takes only its worker with it; in this process only when asked (``in_process``: debugging, the
    library's tests). No more workers than batches; on CUDA each worker is pinned to a GPU."""
    if in_process:
        return InlineExecutor()
    workers = max(1, min(workers, batches))
    return ProcessPoolRunner(workers, gpus=worker_gpus(device, workers))


def executor_phrase(executor: Executor, name: str = LOCAL) -> str:
    """For the run's header line: `` with 2 workers on GPUs 0, 1`` for the local pool, `` through
    slurm`` for the executor of that ``name``."""
    if isinstance(executor, ProcessPoolRunner):
        return f" with {workers_phrase(executor.workers, executor.gpus)}"
    return "" if name == LOCAL else f" through {name}"


def run_info(suite: Suite, device: str, stale_reused: list[str]) -> RunInfo:
    """The run's record. Its environment is the software only: naming a CUDA device would open a
    context in this process, which runs no trial; each trial's record names its device."""
    from genbench.train.trial import software_environment

    return RunInfo(
        suite=suite.name,
        description=suite.description,
        suite_hash=suite.content_hash,
        suite_path=str(suite.path),
        grid_keys=list(suite.grid_keys),
        trial_ids=[trial.id for trial in suite.trials],
        settings=RunSettings(report=suite.report, check=suite.check),
        device=device,
        genbench_version=genbench.__version__,
        genbench_source=genbench_source_hash(),
        stale_reused=stale_reused,
        environment=software_environment(),
        created_at=utc_now(),
    )


@dataclass(frozen=True)
class RunOutcome:
    """What a run left in its folder, for the command line's summary line and exit code."""

    run_dir: Path
    suite: str
    statuses: dict[TrialStatus, int]
    #: the first failed trial's label and error
    first_error: str | None
    stale_reused: tuple[str, ...]

    @property
    def failed(self) -> int:
        return self.statuses.get(TrialStatus.FAILED, 0)

    def summary_line(self) -> str:
        counts = ", ".join(f"{self.statuses.get(status, 0)} {status.value}" for status in TrialStatus)
        line = f"{self.suite}: {sum(self.statuses.values())} trials: {counts}"
        if self.stale_reused:
            line += f"; {len(self.stale_reused)} kept from other code (--reuse-stale)"
        if self.first_error:
            line += f"; first error: {self.first_error}"
        return line


@dataclass(frozen=True)
class TrialSorting:
    """The suite's trials as found in the run folder."""

    todo: list[Trial]
    done: int
    stale_rerun: list[tuple[Trial, list[str]]]
    stale_reused: list[str]
    set_aside: list[tuple[DamagedFile, Path]]


def sort_trials(
    store: RunStore, trials: tuple[Trial, ...], codes: dict[str, CodeIdentity], reuse_stale: bool
) -> TrialSorting:
    todo, stale_rerun, stale_reused, set_aside = [], [], [], []
    done = 0
    for trial in trials:
        try:
            record = store.intact_record(trial.id)
        except DamagedFile as damaged:
            set_aside.append((damaged, store.set_aside(trial.id)))
            todo.append(trial)
            continue
        if record is None or record.status not in DONE_STATUSES:
            todo.append(trial)
        elif record.code == codes[trial.id]:
            done += 1
        elif reuse_stale:
            stale_reused.append(trial.id)
        else:
            changes = codes[trial.id].differences(record.code) if record.code else ["no code recorded"]
            stale_rerun.append((trial, changes))
            todo.append(trial)
    return TrialSorting(todo, done, stale_rerun, stale_reused, set_aside)


def suite_codes(suite: Suite) -> dict[str, CodeIdentity]:
    """The identity of the code that runs each of the suite's trials, by trial id."""
    specs = (trial.spec.model_dump(mode="json") for trial in suite.trials)
    return dict(zip((trial.id for trial in suite.trials), code_identities(specs), strict=True))


def trials_kept(run_dir: Path, suite: Suite, reuse_stale: bool) -> int:
    """How many of the suite's trials a rerun into ``run_dir`` would not train again: those
    recorded as finished or diverged by the current code (by any code with ``reuse_stale``), their
    files intact. Reads only: for the message of an interrupted run."""
    store, codes = RunStore(run_dir), suite_codes(suite)
    kept = 0
    for trial in suite.trials:
        try:
            record = store.intact_record(trial.id)
        except DamagedFile:
            continue
        if record is not None and record.status in DONE_STATUSES:
            kept += reuse_stale or record.code == codes[trial.id]
    return kept


def trials_with_saved_state(run_dir: Path, trials: Sequence[Trial]) -> int:
    """How many of ``trials`` have a saved training state in ``run_dir`` (``train.checkpoint_every``):
    a rerun continues them from it rather than from the start."""
    store = RunStore(run_dir)
    return sum((store.trial_dir(trial.id) / TRAINING_STATE_FILE).is_file() for trial in trials)


def open_run_folder(run_dir: Path, suite: Suite, force: bool, console: Console) -> RunStore:
    """The run folder, made if new, with a damaged run.json set aside; refused as
    ``check_run_folder`` says."""
    make_run_folder(run_dir)
    store = RunStore(run_dir)
    try:
        store.run_info()
    except DamagedFile as damaged:
        aside = store.set_aside_run_info()
        notice(
            console, f"{damaged.path} is damaged ({damaged.problem}): set aside as {aside}; writing it anew"
        )
    except GenbenchError:
        pass
    check_run_folder(run_dir, suite, force)
    return store


def check_run_folder(run_dir: Path, suite: Suite, force: bool) -> None:
    """Unless ``force``, refuse a folder of another suite's run, and a folder with other content
    than a run's (its lock aside). Reads only, so that `genbench run` checks a folder before it
    writes anything into it, its lock included."""
    if force or not run_dir.is_dir():
        return
    try:
        info = RunStore(run_dir).run_info()
    except GenbenchError:
        info = None
    if info is not None and info.suite != suite.name:
        raise GenbenchError(
            f"{run_dir} holds a run of suite '{info.suite}', not '{suite.name}'; choose another "
            "--out, or pass --force to run into it anyway (its run.json, results.csv and report are replaced)"
        )
    content = (path for path in run_dir.iterdir() if path.name not in (LOCK_FILE, HOLDER_FILE))
    if info is None and not (run_dir / TRIALS_DIR).is_dir() and any(content):
        raise GenbenchError(
            f"{run_dir} is not empty and is not a genbench run folder; choose a new or empty folder, "
            "or pass --force to write into it"
        )


def run_suite(
    suite: Suite,
    out_dir: Path | str | None = None,
    device: str = "auto",
    quiet: bool = False,
    workers: int | None = None,
    console: Console | None = None,
    *,
    reuse_stale: bool = False,
    force: bool = False,
    in_process: bool = False,
    ensemble: str | int = "auto",
    execution: ExecutionSettings | None = None,
    retries: int = 0,
) -> RunOutcome:
    """Run every trial of the suite not yet done in ``out_dir`` by the current code.

    Finished and diverged trials recorded by the same code are skipped; failed trials, trials whose
    record came from other code (unless ``reuse_stale``) and damaged trials run again. The trials
    to run train in ensembles as ``ensemble`` says (``auto``, ``off`` or at most N members,
    genbench.runner.ensembles); each still gets its own record. Two runs into one folder at once
    would train its trials twice: the caller holds the folder's lock (``genbench.runner.lock``),
    as `genbench run` does. The trials run where ``execution`` (default: the suite's execution
    section) says: the local pool, SLURM or Ray (genbench.runner.executors). A trial that fails is
    run again, alone, up to ``retries`` more times (genbench.runner.retries). A stop signal
    (SIGINT, SIGTERM) stops every worker, writes the results table of what finished and raises
    ``KeyboardInterrupt`` (genbench.runner.interrupts).
    """
    if workers is not None and workers < 1:
        raise GenbenchError(f"--workers must be at least 1, got {workers}")
    check_retries(retries)
    setting = ensemble_setting(ensemble)
    execution = execution or suite.execution
    # the local pool runs here, so its device is this machine's; on a cluster the node that runs a
    # batch resolves it (a login node without a GPU submits `auto` to GPU nodes)
    device = resolve_device(device) if execution.executor == LOCAL else check_device_name(device)
    console = console or Console(stderr=True, quiet=quiet)
    #: what changes the meaning of the results is said even when quiet
    notices = Console(stderr=True) if console.quiet else console
    run_dir = Path(out_dir) if out_dir is not None else default_run_dir(suite)
    store = open_run_folder(run_dir, suite, force, notices)
    codes = suite_codes(suite)
    sorting = sort_trials(store, suite.trials, codes, reuse_stale)
    try:
        store.write_run_info(suite.text, run_info(suite, device, sorting.stale_reused))
    except OSError as error:
        raise GenbenchError(f"cannot write to the run folder {run_dir}: {error.strerror}") from None
    announce(notices, sorting)
    todo = sorting.todo
    workers = worker_count(device, workers, in_process)
    ensembles = longest_first(form_ensembles(todo, setting, workers))
    batches = [
        TrialBatch(tuple(members), tuple(codes[trial.id] for trial in members), suite.name, run_dir, device)
        for members in ensembles
    ]
    # where the trials run: the suite's execution section unless the caller (the command line) says
    executor = build_executor(
        execution,
        run_dir,
        lambda: choose_executor(device, workers, len(batches), in_process),
    )
    console.print(
        f"[bold]{suite.name}[/]: {len(suite.trials)} trials, {sorting.done} already done, "
        f"running {len(todo)}{saved_phrase(run_dir, todo)}{ensembles_phrase(batches)} on {device}"
        f"{executor_phrase(executor, execution.executor)} -> {run_dir}"
    )
    with SuiteProgress(ensembles, quiet, console) as progress, interrupt_flag():
        try:
            if batches:
                run_with_retries(executor, batches, retries, progress)
        finally:
            # a stop signal in the middle of it waits: the table of what finished is written whole
            with interrupts_deferred():
                store.write_results_table()
    return outcome_of(store, suite, sorting.stale_reused)


def saved_phrase(run_dir: Path, todo: Sequence[Trial]) -> str:
    """`` (3 from saved training states)``, or nothing when every trial starts from scratch."""
    saved = trials_with_saved_state(run_dir, todo)
    return f" ({saved} from saved training states)" if saved else ""


def ensembles_phrase(batches: list[TrialBatch]) -> str:
    """`` as 3 ensembles of 2-4``, or nothing when every trial runs alone."""
    sizes = sorted(len(batch.trials) for batch in batches)
    if not sizes or sizes[-1] == 1:
        return ""
    spread = f"{sizes[0]}" if sizes[0] == sizes[-1] else f"{sizes[0]}-{sizes[-1]}"
    return f" as {len(sizes)} ensemble{'s' if len(sizes) > 1 else ''} of {spread}"


def announce(console: Console, sorting: TrialSorting) -> None:
    """Say which trials run again because their records cannot be trusted, and which are kept."""
    for damaged, moved_to in sorting.set_aside:
        notice(
            console, f"{damaged.path} is damaged ({damaged.problem}): set aside as {moved_to}; rerunning it"
        )
    if sorting.stale_rerun:
        changes = sorted({change for _, trial_changes in sorting.stale_rerun for change in trial_changes})
        notice(
            console,
            f"{len(sorting.stale_rerun)} trials recorded by other code: rerunning ({'; '.join(changes)}); "
            "--reuse-stale keeps them",
        )
    if sorting.stale_reused:
        notice(console, f"{len(sorting.stale_reused)} trials recorded by other code kept (--reuse-stale)")


def notice(console: Console, text: str) -> None:
    """One line as written: paths stay whole (copyable), and brackets in a parser's message are
    not taken for rich markup."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def outcome_of(store: RunStore, suite: Suite, stale_reused: list[str]) -> RunOutcome:
    records: list[TrialRecord] = store.records()
    failed = [record for record in records if record.status is TrialStatus.FAILED]
    labels = {trial.id: trial_label(trial) for trial in suite.trials}
    first_error = f"{labels[failed[0].id]}: {failed[0].error}" if failed else None
    return RunOutcome(
        run_dir=store.run_dir,
        suite=suite.name,
        statuses=dict(Counter(record.status for record in records)),
        first_error=first_error,
        stale_reused=tuple(stale_reused),
    )
