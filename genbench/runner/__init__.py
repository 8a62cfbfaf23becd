"""Run a suite: skip finished trials, hand the rest to an executor, collect results from disk."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console

import genbench
from genbench.errors import GenbenchError
from genbench.records import TrialStatus
from genbench.runner.batch import TrialBatch
from genbench.runner.executors import Executor, InlineExecutor, ProcessPoolRunner
from genbench.runner.progress import SuiteProgress
from genbench.store import RunStore
from genbench.suite import Suite, load_suite

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> str:
    import torch

    if device not in DEVICES and not device.startswith("cuda:"):
        raise GenbenchError(f"unknown device '{device}'; allowed: {', '.join(DEVICES)} or cuda:N")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GenbenchError("--device cuda was asked for, but torch sees no CUDA device; use --device cpu")
    return device


def default_run_dir(suite: Suite, results_root: Path = Path("results")) -> Path:
    """``results/<suite>/<hash>``: the same suite runs into the same folder, so a rerun resumes."""
    return results_root / suite.name / suite.content_hash[:8]


def choose_executor(device: str, trials: int, workers: int | None) -> Executor:
    """One process per CPU core on the CPU (each trial is small and single-threaded at best);
    in process on a GPU, whose kernels are already parallel."""
    if workers is None:
        workers = (os.cpu_count() or 1) if device == "cpu" else 1
    workers = max(1, min(workers, trials))
    return InlineExecutor() if workers == 1 else ProcessPoolRunner(workers)


def run_info(suite: Suite, device: str) -> dict:
    return {
        "suite": suite.name,
        "description": suite.description,
        "suite_hash": suite.content_hash,
        "suite_path": str(suite.path),
        "grid_keys": list(suite.grid_keys),
        "trial_ids": [trial.id for trial in suite.trials],
        "settings": {
            "report": suite.report.model_dump(mode="json"),
            "check": suite.check.model_dump(mode="json"),
        },
        "device": device,
        "genbench_version": genbench.__version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def run_suite(
    suite_path: Path | str,
    out_dir: Path | str | None = None,
    device: str = "auto",
    quiet: bool = False,
    workers: int | None = None,
    console: Console | None = None,
) -> Path:
    """Run every trial of the suite not yet done in ``out_dir``; returns the run folder.

    Finished and diverged trials found in the folder are skipped (their ids are content hashes, so
    a changed trial is never mistaken for a finished one); failed trials are run again.
    """
    suite = load_suite(suite_path)
    device = resolve_device(device)
    run_dir = Path(out_dir) if out_dir is not None else default_run_dir(suite)
    store = RunStore(run_dir)
    store.write_run_info(suite.text, run_info(suite, device))
    todo = [trial for trial in suite.trials if not store.is_done(trial.id)]
    console = console or Console(stderr=True, quiet=quiet)
    skipped = len(suite.trials) - len(todo)
    console.print(
        f"[bold]{suite.name}[/]: {len(suite.trials)} trials, {skipped} already done, "
        f"running {len(todo)} on {device} -> {run_dir}"
    )
    batches = [TrialBatch((trial,), suite.name, run_dir, device) for trial in todo]
    executor = choose_executor(device, len(todo), workers)
    with SuiteProgress(todo, quiet, console) as progress:

        def batch_done(batch: TrialBatch, statuses: list[TrialStatus]) -> None:
            for trial, status in zip(batch.trials, statuses, strict=True):
                progress.trial_done(trial.id, status)

        try:
            executor.run(batches, progress.trial_step, batch_done)
        finally:
            store.write_results_table()
    return run_dir
