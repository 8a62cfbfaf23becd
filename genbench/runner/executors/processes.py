"""The processes the local executor starts (pool workers, a trial run alone, the multiprocessing
manager): started deaf to Ctrl-C, and all stopped when the run is interrupted.

A terminal sends Ctrl-C's SIGINT to the whole process group, workers included. Were each worker to
act on it, every one would print its own traceback and the run could not stop them in order. So
they start with SIGINT ignored, a disposition that survives ``exec`` and that Python keeps at start-up
(it installs its own SIGINT handler only where the parent left the default); the run alone decides
to stop. When it does (``KeyboardInterrupt``, from SIGINT or SIGTERM: ``genbench.runner.interrupts``),
every process started by the executor is sent SIGTERM and, if still there after a grace period,
SIGKILL, before the interrupt goes on. Without this, a stopped run left its workers (each holding a
trial's memory), the manager and the resource tracker behind, waiting forever for work.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess

from genbench.runner.interrupts import in_main_thread, interrupts_deferred

#: how long a process sent SIGTERM may take to end before it is killed
STOP_GRACE_SECONDS = 5.0


@contextmanager
def starting_children() -> Iterator[None]:
    """Processes started inside the block start with SIGINT ignored. Meanwhile this process's own
    stop signals wait for the end of the block (a process half-started when an interrupt arrives
    would be missed by the stop); a SIGINT in those few milliseconds is lost with the children's.
    Outside the main thread, which cannot set signal handlers, children start as this process is."""
    if not in_main_thread():
        yield
        return
    with interrupts_deferred():
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


@contextmanager
def stopped_on_error() -> Iterator[None]:
    """When the block ends in an exception (an interrupt, most of all), the child processes started
    inside it that still run are stopped before the exception goes on. Only those: a program that
    calls the runner may have processes of its own."""
    before = set(multiprocessing.active_children())
    try:
        yield
    except BaseException:
        stop_processes(child for child in multiprocessing.active_children() if child not in before)
        raise


def stop_processes(processes: Iterable[BaseProcess], grace_seconds: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to each, then SIGKILL to those still running after ``grace_seconds``; returns once
    every one has ended. A second stop signal meanwhile is raised only after."""
    with interrupts_deferred():
        processes = list(processes)
        for process in processes:
            process.terminate()
        deadline = time.monotonic() + grace_seconds
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
