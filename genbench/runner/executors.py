"""Executors hand batches of trials to workers: in this process, or a process pool.

Both return nothing but what the workers wrote to the store; the caller reads the records back.
Progress travels from workers as (trial id, steps done, steps in all) messages.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from genbench.records import TrialStatus
from genbench.runner.batch import TrialBatch, TrialProgress, run_batch

#: called in the main process when a batch is done
BatchDone = Callable[[TrialBatch, list[TrialStatus]], None]


class Executor(Protocol):
    def run(self, batches: Iterable[TrialBatch], progress: TrialProgress, done: BatchDone) -> None: ...


class InlineExecutor:
    """Runs batches one after another in this process (the default on a single GPU)."""

    def run(self, batches: Iterable[TrialBatch], progress: TrialProgress, done: BatchDone) -> None:
        for batch in batches:
            done(batch, run_batch(batch, progress))


def limit_threads(threads: int) -> None:
    """Worker initializer: share the cores between workers instead of oversubscribing them."""
    import torch

    torch.set_num_threads(threads)


class _QueueProgress:
    """Picklable progress callback that forwards updates to the main process."""

    def __init__(self, messages: queue.Queue) -> None:
        self.messages = messages

    def __call__(self, trial_id: str, done: int, total: int) -> None:
        self.messages.put((trial_id, done, total))


def _run_batch_in_worker(batch: TrialBatch, messages: queue.Queue | None) -> list[TrialStatus]:
    return run_batch(batch, _QueueProgress(messages) if messages is not None else None)


class ProcessPoolRunner:
    """A pool of worker processes on the CPU, each with its share of the cores.

    Workers are spawned (not forked) so that no torch state is inherited.
    """

    def __init__(self, workers: int, threads_per_worker: int | None = None) -> None:
        self.workers = workers
        self.threads = threads_per_worker or max(1, (os.cpu_count() or 1) // workers)

    def run(self, batches: Iterable[TrialBatch], progress: TrialProgress, done: BatchDone) -> None:
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager:
            messages = manager.Queue()
            with ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=limit_threads, initargs=(self.threads,)
            ) as pool:
                pending: dict[Future, TrialBatch] = {
                    pool.submit(_run_batch_in_worker, batch, messages): batch for batch in batches
                }
                while pending:
                    finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    drain(messages, progress)
                    for future in finished:
                        batch = pending.pop(future)
                        try:
                            statuses = future.result()
                        except BrokenProcessPool as crash:
                            raise RuntimeError(
                                "a worker process died (out of memory?); finished trials are kept, "
                                "run the suite again to resume"
                            ) from crash
                        done(batch, statuses)
                drain(messages, progress)


def drain(messages: queue.Queue, progress: TrialProgress) -> None:
    while True:
        try:
            progress(*messages.get_nowait())
        except queue.Empty:
            return
