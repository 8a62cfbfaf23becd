"""The genbench command line: thin Typer commands that parse, call the library and print.

Nothing heavy is imported at module level: ``--help``, ``list`` and ``validate`` never import torch.
User errors (``GenbenchError``) are printed without a traceback and exit with code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Benchmark GANs and VAEs from declarative YAML suites: train across losses, optimizers and "
    "seeds, measure quality, diversity, mode collapse and stability, and report or check the results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

def fail(error: Exception) -> typer.Exit:
    """Print a user error without a traceback; exit code 2 means 'unusable input'."""
    typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
    return typer.Exit(2)


SuiteArgument = Annotated[Path, typer.Argument(help="suite file (YAML), e.g. suites/mode_collapse.yaml")]


@app.command()
def run(
    suite: SuiteArgument,
    out: Annotated[
        Path | None,
        typer.Option(help="run folder; default results/<suite>/<hash of the suite's trials>"),
    ] = None,
    device: Annotated[str, typer.Option(help="auto (CUDA when available), cpu, cuda or cuda:N")] = "auto",
    workers: Annotated[
        int | None, typer.Option(help="parallel worker processes; default: one per core on CPU, 1 on GPU")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Train and evaluate every trial of SUITE and write results (resumes: finished trials are skipped)."""
    from genbench.errors import GenbenchError

    try:
        from genbench.runner import run_suite

        run_dir = run_suite(suite, out, device=device, quiet=quiet, workers=workers)
    except GenbenchError as error:
        raise fail(error) from None
    typer.echo(str(run_dir / "results.csv"))


@app.command()
def validate(suite: SuiteArgument) -> None:
    """Check SUITE without training: keys, names, types and values; print how many trials it expands to."""
    from genbench.errors import GenbenchError
    from genbench.suite import load_suite

    try:
        loaded = load_suite(suite)
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


# -- report commands (issue 3) --

# -- baseline commands (issue 4) --
