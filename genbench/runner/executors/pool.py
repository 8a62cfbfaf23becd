"""The local executor: a pool of worker processes on this machine.

It returns nothing but what the workers wrote to the store; the caller reads the records back.
Workers report through two callbacks: progress (trial id, steps done, steps in all; every trial
reports 0 steps when it starts, every member of an ensemble when the ensemble starts) and trial
done (trial id, status, after its record is written).

A worker can die without a word: the out-of-memory killer, or user code calling ``os._exit``.
Then every trial it had started and not finished is a suspect: each member of the ensemble it was
running. A lone suspect is recorded as failed; several (the members of an ensemble, or one trial
per worker) are run again one at a time in a process of their own, and those whose process dies
again are recorded as failed with its exit status. Trials not yet started go on in a fresh pool.
So one trial that cannot fit never stops the others, and a rerun of the suite goes on with the
rest (failed trials are retried, the others are done).

Workers ignore Ctrl-C; an interrupt of the run (SIGINT or SIGTERM) stops every process the executor
started before it goes on (``genbench.runner.executors.processes``). On a GPU machine each worker is
pinned to one GPU (``genbench.runner.gpus``).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext
from multiprocessing.managers import SyncManager

from genbench.clock import utc_now
from genbench.errors import GenbenchError
from genbench.records import TrialStatus
from genbench.runner.batch import TrialBatch, TrialDone, TrialProgress, failed_record, run_batch
from genbench.runner.executors.processes import starting_children, stopped_on_error
from genbench.runner.gpus import pin_to_gpu
from genbench.store import RunStore

POLL_SECONDS = 0.2


def start_worker(threads: int, gpu: str | None) -> None:
    """In a new worker process: leave Ctrl-C to the run (a KeyboardInterrupt here is then always a
    trial's own), see only its GPU (before torch is imported: CUDA reads the setting when it
    starts), and share the cores between workers instead of oversubscribing them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pin_to_gpu(gpu)
    import torch

    torch.set_num_threads(threads)


def start_pool_worker(threads: int, gpu_slots: queue.Queue | None) -> None:
    """Pool initializer: every worker gets the same arguments, so each takes its GPU from a queue
    that holds one GPU per worker."""
    start_worker(threads, gpu_slots.get() if gpu_slots is not None else None)


class _QueueMessages:
    """Picklable callbacks that forward a worker's progress and finished trials to the main process."""

    def __init__(self, messages: queue.Queue) -> None:
        self.messages = messages

    def progress(self, trial_id: str, done: int, total: int) -> None:
        self.messages.put(("progress", trial_id, done, total))

    def trial_done(self, trial_id: str, status: TrialStatus) -> None:
        self.messages.put(("done", trial_id, status.value))


def _run_batch_in_worker(batch: TrialBatch, messages: queue.Queue) -> None:
    forward = _QueueMessages(messages)
    run_batch(batch, forward.progress, forward.trial_done)


def _run_batch_in_own_process(
    batch: TrialBatch, messages: queue.Queue, threads: int, gpu: str | None
) -> None:
    start_worker(threads, gpu)
    _run_batch_in_worker(batch, messages)


@dataclass
class _Tracker:
    """What the main process knows of the trials from the workers' messages."""

    progress: TrialProgress
    trial_done: TrialDone
    started: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)

    def drain(self, messages: queue.Queue) -> None:
        while True:
            try:
                kind, trial_id, *rest = messages.get_nowait()
            except queue.Empty:
                return
            if kind == "progress":
                self.started.add(trial_id)
                self.progress(trial_id, *rest)
            else:
                self.finished.add(trial_id)
                self.trial_done(trial_id, TrialStatus(rest[0]))

    def unfinished(self, batch: TrialBatch) -> TrialBatch | None:
        indices = [i for i, trial in enumerate(batch.trials) if trial.id not in self.finished]
        return batch.part(indices) if indices else None


class ProcessPoolRunner:
    """A pool of worker processes, each with its share of the cores and, when ``gpus`` names them,
    pinned to ``gpus[i]`` (one entry per worker).

    Workers are spawned (not forked) so that no torch state is inherited.
    """

    def __init__(self, workers: int, threads_per_worker: int | None = None, gpus: Sequence[str] = ()) -> None:
        if gpus and len(gpus) != workers:
            raise ValueError(f"{workers} workers need one GPU each, got {len(gpus)}: {list(gpus)}")
        self.workers = workers
        self.threads = threads_per_worker or max(1, (os.cpu_count() or 1) // workers)
        self.gpus = list(gpus)

    def run(self, batches: Sequence[TrialBatch], progress: TrialProgress, trial_done: TrialDone) -> None:
        context = multiprocessing.get_context("spawn")
        # the outer stop catches a manager half-started; the inner one stops the workers while the
        # manager, whose queue they write to, still runs
        with stopped_on_error():
            with starting_children():
                manager = context.Manager()
            with manager, stopped_on_error():
                messages = manager.Queue()
                tracker = _Tracker(progress, trial_done)
                remaining = list(batches)
                while remaining:
                    interrupted = self.run_pool(context, manager, remaining, messages, tracker)
                    tracker.drain(messages)
                    remaining = self.recover(context, interrupted, messages, tracker)

    def start_pool(self, context: SpawnContext, manager: SyncManager) -> ProcessPoolExecutor:
        """A pool whose workers start as ``start_pool_worker`` says; they are started by ``submit``."""
        gpu_slots = None
        if self.gpus:
            gpu_slots = manager.Queue()
            for gpu in self.gpus:
                gpu_slots.put(gpu)
        return ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=start_pool_worker,
            initargs=(self.threads, gpu_slots),
        )

    def run_pool(
        self,
        context: SpawnContext,
        manager: SyncManager,
        batches: list[TrialBatch],
        messages: queue.Queue,
        tracker: _Tracker,
    ) -> list[TrialBatch]:
        """Run ``batches`` in a pool; returns the batches cut short by a worker's death."""
        interrupted = []
        with starting_children():
            pool = self.start_pool(context, manager)
        # the stop comes first: the pool's own exit waits for its workers to finish their batches
        with pool, stopped_on_error():
            with starting_children():
                pending: dict[Future, TrialBatch] = {
                    pool.submit(_run_batch_in_worker, batch, messages): batch for batch in batches
                }
            while pending:
                finished, _ = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                tracker.drain(messages)
                for future in finished:
                    batch = pending.pop(future)
                    try:
                        future.result()
                    except BrokenProcessPool:
                        interrupted.append(batch)
        return interrupted

    def recover(
        self, context: SpawnContext, interrupted: list[TrialBatch], messages: queue.Queue, tracker: _Tracker
    ) -> list[TrialBatch]:
        """Record or isolate the trials a dead worker was running; return the batches still to run."""
        unfinished = [rest for batch in interrupted if (rest := tracker.unfinished(batch)) is not None]
        #: each trial that had started, as a batch of its own
        suspects = [
            batch.part([index])
            for batch in unfinished
            for index, trial in enumerate(batch.trials)
            if trial.id in tracker.started
        ]
        if unfinished and not suspects:
            # no trial had started: the workers die on their own (at start-up), and would again
            raise GenbenchError(
                "a worker process died before it started a trial (out of memory at start-up?); "
                "finished trials are kept, run the suite again to resume"
            )
        if len(suspects) == 1:
            record_worker_death(suspects[0], "the worker process running it died", tracker)
        else:
            for alone in suspects:
                exit_code = self.run_alone(context, alone, messages, tracker)
                if alone.trials[0].id not in tracker.finished:
                    record_worker_death(alone, describe_exit(exit_code), tracker)
        suspect_ids = {alone.trials[0].id for alone in suspects}
        remaining = []
        for batch in unfinished:
            keep = [i for i, trial in enumerate(batch.trials) if trial.id not in suspect_ids]
            if keep:
                remaining.append(batch.part(keep))
        return remaining

    def run_alone(
        self, context: SpawnContext, batch: TrialBatch, messages: queue.Queue, tracker: _Tracker
    ) -> int | None:
        gpu = self.gpus[0] if self.gpus else None
        process = context.Process(target=_run_batch_in_own_process, args=(batch, messages, self.threads, gpu))
        with starting_children():
            process.start()
        while process.is_alive():
            process.join(POLL_SECONDS)
            tracker.drain(messages)
        tracker.drain(messages)
        return process.exitcode


def describe_exit(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return f"its worker process was killed by {name}"
    return f"its worker process exited with code {exit_code} before the trial finished"


def record_worker_death(alone: TrialBatch, cause: str, tracker: _Tracker) -> None:
    """Record the trial of ``alone`` (a batch of one) as failed because its worker died."""
    (trial,), (code,) = alone.trials, alone.codes
    message = (
        f"WorkerDied: {cause} (killed by the system, most likely out of memory: make the batches or "
        "sample counts smaller; or the trial's code ended the process)"
    )
    RunStore(alone.run_dir).write_trial(
        failed_record(trial, code, alone.suite_name, message, utc_now(), alone.attempt)
    )
    tracker.finished.add(trial.id)
    tracker.trial_done(trial.id, TrialStatus.FAILED)
