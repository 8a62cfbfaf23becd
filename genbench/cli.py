"""The genbench command line: thin Typer commands that parse, call the library and print.

Nothing heavy is imported at module level: ``--help``, ``list`` and ``validate`` never import torch.
User errors (``GenbenchError``) are printed without a traceback and exit with code 2.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from genbench.bench import defaults as bench_defaults
from genbench.limits import DEFAULT_MAX_TRIALS

if TYPE_CHECKING:
    from genbench.suite import Suite

app = typer.Typer(
    help="Benchmark GANs and VAEs from declarative YAML suites: train across losses, optimizers and "
    "seeds, measure quality, diversity, mode collapse and stability, and report or check the results. "
    "Exit codes: 0 done; 1 a regression (check); 2 unusable input or a run folder in use by another "
    "run, nothing trained; 3 a trial failed (run: the others ran); 130 or 143 a run stopped by "
    "SIGINT (Ctrl-C) or SIGTERM, its finished trials kept.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(error: Exception) -> typer.Exit:
    """Print a user error without a traceback; exit code 2 means 'unusable input'."""
    typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
    return typer.Exit(2)


SuiteArgument = Annotated[Path, typer.Argument(help="suite file (YAML), e.g. suites/mode_collapse.yaml")]


#: exit codes of every command (README, "Exit codes")
EXIT_OK, EXIT_REGRESSION, EXIT_UNUSABLE, EXIT_TRIAL_FAILED = 0, 1, 2, 3
#: a run stopped by a signal exits with 128 + its number, as a shell reports a process the signal
#: ended: 130 for SIGINT (Ctrl-C), 143 for SIGTERM
EXIT_SIGNALLED = 128

MaxTrialsOption = Annotated[
    int,
    typer.Option(min=1, help="refuse a suite whose grid expands to more trials than this (a typo guard)"),
]


@app.command()
def run(
    suite: SuiteArgument,
    out: Annotated[
        Path | None,
        typer.Option(help="run folder; default results/<suite>/<hash of the suite's trials>"),
    ] = None,
    device: Annotated[str, typer.Option(help="auto (CUDA when available), cpu, cuda or cuda:N")] = "auto",
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="parallel worker processes; default: one per core on the CPU, one per visible GPU "
            "on CUDA (each pinned to its GPU)",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress bars (the summary line is still printed)")
    ] = False,
    check: Annotated[
        Path | None,
        typer.Option(help="baseline file to check the run against; exit 1 on a regression, 2 on bad input"),
    ] = None,
    reuse_stale: Annotated[
        bool,
        typer.Option(
            help="keep results recorded by other code (another genbench version or source, edited user "
            "modules) instead of rerunning them; refused with --check"
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option(help="run into a folder that holds another suite's run or other files")
    ] = False,
    max_trials: MaxTrialsOption = DEFAULT_MAX_TRIALS,
    ensemble: Annotated[
        str,
        typer.Option(
            help="train trials that differ only in their seed (or dataset, of one shape) as one "
            "vectorized ensemble: auto (as large as memory allows, split so every worker has one), "
            "off (every trial alone) or N (at most N members); results are the same to float tolerance"
        ),
    ] = "auto",
    wait: Annotated[
        bool,
        typer.Option(
            help="when another `genbench run` is running into the same folder, wait for it to finish and "
            "then run (its finished trials are not trained again); without it such a run is refused (exit 2)"
        ),
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option(
            help="where the trials run: local (worker processes on this machine), slurm (job arrays through "
            "submitit; pip install 'genbench\\[slurm]') or ray (Ray tasks; pip install 'genbench\\[ray]'); "
            "default: the suite's execution.executor, else local. Trial ids and the run folder do not "
            "depend on it: a run begun with one executor resumes with another"
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="the Ray cluster to run on (with --executor ray): auto (the one this machine belongs "
            "to) or HOST:PORT; default: the suite's execution.ray.address, else a single-node Ray started "
            "for the run"
        ),
    ] = None,
    retries: Annotated[
        int,
        typer.Option(
            min=0,
            help="run a trial that failed (its code raised, its worker died, it timed out) again, alone, up "
            "to N more times in this run; its record counts the attempts",
        ),
    ] = 0,
) -> None:
    """Train and evaluate every trial of SUITE, write results and the report. Resumes: trials done
    by the same code are skipped. One run per folder at a time: another run into it is refused, or
    waits with --wait. Exit 0: all trials finished or diverged (and the check passed); 1: the check
    found a regression; 2: unusable input, or the folder in use by another run; 3: a trial failed
    (the rest still ran); 130/143: stopped by SIGINT (Ctrl-C)/SIGTERM, finished trials kept (run the
    same command again to resume). Trials run where --executor (or the suite's execution section)
    says: worker processes here, SLURM job arrays, or Ray tasks; a stop cancels the jobs or tasks."""
    from genbench.errors import GenbenchError

    try:
        from genbench.runner import check_run_folder, default_run_dir, run_suite
        from genbench.runner.ensembles import ensemble_setting
        from genbench.runner.executors import check_available
        from genbench.runner.interrupts import interrupt_flag
        from genbench.runner.lock import hold_run_folder
        from genbench.suite import load_suite

        if check is not None and reuse_stale:
            raise GenbenchError(
                "--check compares only results of the current code; drop --reuse-stale to rerun stale trials"
            )
        # every option is checked before the run folder is made (its lock file is the first write)
        ensemble_setting(ensemble)
        loaded = load_suite(suite, max_trials=max_trials)
        execution = loaded.execution.overridden(executor, ray_address)
        check_available(execution)
        run_dir = out if out is not None else default_run_dir(loaded)
        # before the lock is written into the folder: a folder that is not this suite's stays untouched
        check_run_folder(run_dir, loaded, force)
        with (
            exit_on_interrupt(loaded, run_dir, reuse_stale),
            interrupt_flag(),
            hold_run_folder(run_dir, wait, waiting=lambda text: typer.echo(text, err=True)),
        ):
            outcome = run_suite(
                loaded,
                run_dir,
                device=device,
                quiet=quiet,
                workers=workers,
                reuse_stale=reuse_stale,
                force=force,
                ensemble=ensemble,
                execution=execution,
                retries=retries,
            )
            typer.echo(outcome.summary_line(), err=True)
            typer.echo(str(outcome.run_dir / "results.csv"))
            from genbench.report import build_report

            typer.echo(str(build_report(outcome.run_dir)))
            result = None
            if check is not None:
                from genbench.check.commands import check_run

                result = check_run(outcome.run_dir, check)
    except GenbenchError as error:
        raise fail(error) from None
    if result is not None:
        report_check(result, outcome.run_dir)
    if result is not None and result.exit_code == EXIT_REGRESSION:
        raise typer.Exit(EXIT_REGRESSION)
    raise typer.Exit(EXIT_TRIAL_FAILED if outcome.failed else EXIT_OK)


@contextmanager
def exit_on_interrupt(suite: Suite, run_dir: Path, reuse_stale: bool) -> Iterator[None]:
    """A run stopped by SIGINT or SIGTERM (its workers stopped, the results table of what finished
    written, the lock released) says what it kept and how to resume, and exits with 128 + the
    signal's number. A KeyboardInterrupt that no signal raised goes on."""
    from genbench.runner import trials_kept, trials_with_saved_state
    from genbench.runner.interrupts import ignore_stop_signals, received_signal

    try:
        yield
    except KeyboardInterrupt:
        stop = received_signal()
        if stop is None:
            raise
        ignore_stop_signals()
        kept = trials_kept(run_dir, suite, reuse_stale)
        saved = trials_with_saved_state(run_dir, suite.trials)
        continued = f", {saved} more saved their training state" if saved else ""
        typer.secho(
            f"interrupted ({stop.name}): {kept} of {len(suite.trials)} trials finished and kept{continued}; "
            f'run "{resume_command(run_dir)}" again to resume',
            err=True,
            fg=typer.colors.YELLOW,
        )
        raise typer.Exit(EXIT_SIGNALLED + stop) from None


def resume_command(run_dir: Path) -> str:
    """The command as the user typed it, with ``--out`` added when it was not given: a default run
    folder is named after the suite's content, which an edit changes."""
    arguments = sys.argv[1:]
    if not any(argument == "--out" or argument.startswith("--out=") for argument in arguments):
        arguments = [*arguments, "--out", str(run_dir)]
    return shlex.join(["genbench", *arguments])


@app.command()
def validate(suite: SuiteArgument, max_trials: MaxTrialsOption = DEFAULT_MAX_TRIALS) -> None:
    """Check SUITE without training: keys, names, types and values; print how many trials it expands to."""
    from genbench.errors import GenbenchError
    from genbench.suite import load_suite

    try:
        loaded = load_suite(suite, max_trials=max_trials)
    except GenbenchError as error:
        raise fail(error) from None
    grid = ", ".join(f"{key} ({len({t.grid[key] for t in loaded.trials})})" for key in loaded.grid_keys)
    typer.echo(f"{suite}: valid, {len(loaded.trials)} trials" + (f" over {grid}" if grid else ""))


@app.command(name="list")
def list_entries(
    kind: Annotated[
        str | None,
        typer.Argument(help="datasets, models, losses, penalties, optimizers or metrics; default: all"),
    ] = None,
) -> None:
    """List what a suite can name, with a one-line description of each entry."""
    from genbench.catalog import REGISTRIES

    if kind is not None and kind not in REGISTRIES:
        raise fail(ValueError(f"unknown kind '{kind}'; allowed: {', '.join(REGISTRIES)}"))
    for name, registry in REGISTRIES.items():
        if kind not in (None, name):
            continue
        typer.secho(name, bold=True)
        width = max(len(entry.name) for entry in registry.entries())
        for entry in registry.entries():
            typer.echo(f"  {entry.name.ljust(width)}  {entry.description}")


@app.command(name="train-extractor")
def train_extractor(
    out: Annotated[Path, typer.Argument(help="where to write the classifier's weights (a state dict)")],
    seed: Annotated[int, typer.Option(help="training seed; 0 reproduces the bundled weights")] = 0,
    epochs: Annotated[int, typer.Option(min=1, help="passes over the digits train split")] = 30,
) -> None:
    """Train the offline digits classifier behind the digits-cnn feature extractor and print its
    held-out accuracy. With the defaults it reproduces the weights shipped with genbench."""
    from genbench.metrics.extractors.training import train_digits_classifier

    report = train_digits_classifier(out, seed=seed, epochs=epochs)
    typer.echo(f"{out}: held-out accuracy {report.test_accuracy:.2%}, trained in {report.seconds:.1f} s")


# -- report commands (issue 3) --


@app.command()
def report(
    results_dir: Annotated[Path, typer.Argument(help="run folder, e.g. results/mode_collapse/1a2b3c4d")],
    group_by: Annotated[
        list[str] | None,
        typer.Option(
            "--group-by",
            help="grid key or grid column (e.g. optimizer.name) that defines a group, repeatable; "
            "default: the suite's report.group_by, else every grid key except seed",
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(help="headline metric of the tables, figures and comparisons; default: report.metric"),
    ] = None,
) -> None:
    """Rebuild the report of RESULTS_DIR (tables, figures, report.md, report.html) from stored results."""
    from genbench.errors import GenbenchError

    try:
        from genbench.report import build_report

        path = build_report(results_dir, group_by=group_by, metric=metric)
    except GenbenchError as error:
        raise fail(error) from None
    typer.echo(str(path))


# -- baseline commands (issue 4) --

ResultsArgument = Annotated[Path, typer.Argument(help="a run folder written by `genbench run`")]
MetricsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--metrics",
        help="metrics to check, repeated or comma-separated; default: the suite's check.metrics, "
        "else every final metric with a declared direction",
    ),
]
AlphaOption = Annotated[
    float | None,
    typer.Option(help="significance level, in (0, 1); default: the baseline's"),
]
ToleranceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tolerance",
        help="METRIC=VALUE (absolute) or METRIC=VALUE% (relative), repeatable; replaces the baseline's",
    ),
]


def split_metrics(metrics: list[str] | None) -> list[str] | None:
    names = [name.strip() for item in metrics or [] for name in item.split(",") if name.strip()]
    return names or None


def parse_tolerances(texts: list[str] | None) -> dict:
    from genbench.check.commands import parse_tolerance

    return dict(parse_tolerance(text) for text in texts or [])


def report_check(result, report_dir: Path | None) -> None:
    """Print a check's table and write check.json / check.md into ``report_dir`` when given."""
    typer.echo(result.text())
    if report_dir is not None:
        for path in result.write(report_dir):
            typer.echo(f"wrote {path}", err=True)


@app.command()
def baseline(
    results_dir: ResultsArgument,
    out: Annotated[Path | None, typer.Option(help="baseline file; default baselines/<suite>.json")] = None,
    metrics: MetricsOption = None,
) -> None:
    """Write a baseline from a finished run: per cell and metric, every seed's value, its summary and
    protocol. Review its diff before committing it."""
    from genbench.check.baseline import write_baseline
    from genbench.errors import GenbenchError

    try:
        path = write_baseline(results_dir, out, split_metrics(metrics))
    except GenbenchError as error:
        raise fail(error) from None
    typer.echo(str(path))


@app.command()
def check(
    results_dir: ResultsArgument,
    baseline_file: Annotated[Path, typer.Option("--baseline", help="baseline file, e.g. baselines/x.json")],
    allow_suite_change: Annotated[
        bool, typer.Option(help="check a run of a changed suite (e.g. other seeds) on the baseline's cells")
    ] = False,
    alpha: AlphaOption = None,
    tolerance: ToleranceOption = None,
    report_dir: Annotated[
        Path | None, typer.Option(help="where to write check.json and check.md; default: RESULTS_DIR")
    ] = None,
) -> None:
    """Check a run against a baseline. Exit 0: nothing regressed; 1: a regression; 2: unusable input."""
    from genbench.check.commands import check_run
    from genbench.errors import GenbenchError

    try:
        result = check_run(results_dir, baseline_file, allow_suite_change, alpha, parse_tolerances(tolerance))
    except GenbenchError as error:
        raise fail(error) from None
    report_check(result, report_dir or results_dir)
    raise typer.Exit(result.exit_code)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="the run taken as the baseline")],
    run_b: Annotated[Path, typer.Argument(help="the run compared with it")],
    metrics: MetricsOption = None,
    alpha: AlphaOption = None,
    tolerance: ToleranceOption = None,
    report_dir: Annotated[Path | None, typer.Option(help="where to write check.json and check.md")] = None,
) -> None:
    """Compare two runs with the check's table and rule, on the cells they share; exits 0 whatever changed."""
    from genbench.check.commands import compare_runs
    from genbench.errors import GenbenchError

    try:
        result = compare_runs(run_a, run_b, split_metrics(metrics), alpha, parse_tolerances(tolerance))
    except GenbenchError as error:
        raise fail(error) from None
    report_check(result, report_dir)


# -- throughput (issue 10) --

PIPED_TABLE_WIDTH = 120


@app.command()
def bench(
    suite: SuiteArgument,
    device: Annotated[str, typer.Option(help="auto (CUDA when available), cpu, cuda or cuda:N")] = "auto",
    ensemble_sizes: Annotated[
        str,
        typer.Option(help="ensemble sizes E, comma-separated; models that do not stack are measured at E=1"),
    ] = bench_defaults.ENSEMBLE_SIZES,
    batch_sizes: Annotated[
        str | None, typer.Option(help="batch sizes, comma-separated; default: each configuration's own")
    ] = None,
    steps: Annotated[
        int,
        typer.Option(
            min=1,
            help=f"generator updates timed per measurement, after {bench_defaults.WARMUP_STEPS} untimed",
        ),
    ] = bench_defaults.STEPS,
    samples: Annotated[
        int, typer.Option(min=1, help="samples per member drawn when sampling is timed")
    ] = bench_defaults.SAMPLES,
    max_configs: Annotated[
        int, typer.Option(min=1, help="measure the suite's first N distinct configurations (seeds left out)")
    ] = bench_defaults.MAX_CONFIGS,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="threads to compute with; default: 1 on the CPU (as each worker of a run)"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="folder for bench.csv and bench.png; default results/bench/<suite>")
    ] = None,
    max_trials: MaxTrialsOption = DEFAULT_MAX_TRIALS,
) -> None:
    """Measure how fast SUITE's models train (trial-steps/s) and sample (samples/s) across ensemble
    and batch sizes, without running the study; write bench.csv and bench.png and print the table.
    Exit 0: measured; 2: unusable input."""
    from rich.console import Console

    from genbench.errors import GenbenchError

    try:
        from genbench.bench.plan import BenchPlan, configurations, sizes
        from genbench.suite import load_suite

        plan = BenchPlan(
            ensemble_sizes=sizes(ensemble_sizes, "--ensemble-sizes"),
            batch_sizes=sizes(batch_sizes, "--batch-sizes") if batch_sizes is not None else None,
            steps=steps,
            samples=samples,
        )
        loaded = load_suite(suite, max_trials=max_trials)
        # torch only now: unusable input is refused in a moment
        import torch

        from genbench.bench.run import default_bench_dir, measurements, use_threads, write_bench
        from genbench.bench.table import bench_frame, measurement_line, rich_table
        from genbench.runner import resolve_device

        where = torch.device(resolve_device(device))
        use_threads(where, threads)
        rows = []
        for row in measurements(configurations(loaded, max_configs), plan, where):
            typer.echo(measurement_line(row), err=True)
            rows.append(row)
        frame = bench_frame(rows)
        written = write_bench(frame, out or default_bench_dir(loaded))
    except GenbenchError as error:
        raise fail(error) from None
    # piped into a file or a log, rich would wrap the table at 80 columns
    console = Console() if sys.stdout.isatty() else Console(width=PIPED_TABLE_WIDTH)
    console.print(rich_table(frame, f"genbench bench: {loaded.name} ({frame.device.iloc[0]})"))
    for path in written:
        typer.echo(str(path))
