"""One `genbench run` per run folder at a time.

Two runs into one folder would each find the other's trials not yet done and train them again,
and rewrite results and report under each other. So a run holds the folder's lock (``.run.lock``,
an operating-system lock through ``filelock``) from before it sorts the folder's trials until its
report is written; a second run is refused with a message naming the holder, or waits for it.
The operating system releases the lock when the holding process ends, however it ends (an error,
Ctrl-C, ``kill -9``), so a lock is never left held by a process that is gone. The lock file itself
stays (removing it on release would let two runs lock two different files of one name).

Beside it, ``.run.holder.json`` names the holder (host, process id, start time) for the message of
a refused run; it is removed on release, and a holder killed before that leaves it to the next
holder to overwrite. Only `run` takes the lock: `report`, `baseline`, `check` and `compare` only
read, and every file a run writes appears whole (``genbench.atomic``).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import ValidationError

from genbench.atomic import write_text_atomically
from genbench.clock import utc_now
from genbench.errors import GenbenchError
from genbench.runner.interrupts import interrupts_deferred
from genbench.settings import StrictModel
from genbench.store import HOLDER_FILE, LOCK_FILE, make_run_folder


class RunHolder(StrictModel):
    """The process that holds a run folder's lock."""

    host: str
    pid: int
    started_at: str

    def __str__(self) -> str:
        return f"process {self.pid} on {self.host}, started {self.started_at}"


def this_process() -> RunHolder:
    return RunHolder(host=socket.gethostname(), pid=os.getpid(), started_at=utc_now())


def read_holder(run_dir: Path) -> str:
    """Who holds the folder's lock, as a phrase; what is known when the holder file is missing
    (the holder is between taking the lock and writing it) or unreadable."""
    path = run_dir / HOLDER_FILE
    try:
        return str(RunHolder.model_validate(json.loads(path.read_text(encoding="utf-8"))))
    except FileNotFoundError:
        return "a process that has not yet written its name"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError):
        return f"a process whose {path} is unreadable"


@contextmanager
def hold_run_folder(run_dir: Path, wait: bool, waiting: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock of ``run_dir`` (made if new) for the duration of the ``with`` block.

    Held by another process: ``GenbenchError`` naming it, or, with ``wait``, ``waiting`` is told
    who is waited for and the lock is taken when the holder ends (Ctrl-C stops the wait).
    """
    make_run_folder(run_dir)
    lock = FileLock(run_dir / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = read_holder(run_dir)
        if not wait:
            raise GenbenchError(
                f"{run_dir} is in use by another `genbench run` ({holder}); wait for it to finish, "
                "or pass --wait to start when it does"
            ) from None
        waiting(f"{run_dir} is in use by another `genbench run` ({holder}); waiting for it to finish")
        lock.acquire()
    try:
        write_text_atomically(run_dir / HOLDER_FILE, this_process().model_dump_json() + "\n")
        yield
    finally:
        # a stop signal now waits until the folder is free and its holder's name gone
        with interrupts_deferred():
            (run_dir / HOLDER_FILE).unlink(missing_ok=True)
            lock.release()
