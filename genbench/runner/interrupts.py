"""Stop signals (Ctrl-C's SIGINT, and SIGTERM from ``kill``, a batch system or a container's stop)
as one interrupt, told apart from a ``KeyboardInterrupt`` raised by user code.

A trial runs user code (datasets, models, losses named as ``package.module:factory``). If that code
raises ``KeyboardInterrupt`` or calls ``sys.exit``, it is the trial that failed, and the suite must
go on; a real stop signal must stop the run. Python raises the same exception for both, so the
handler installed here also records which signal really arrived (``received_signal``). SIGTERM is
raised as the same ``KeyboardInterrupt`` as Ctrl-C, so every executor stops its workers one way,
whichever signal asked.

Stopping takes a moment (workers are stopped, the results table written, the run folder's lock
released), and a second signal must not cut it short halfway, leaving workers behind: only the first
signal of a run raises; later ones are noted and ignored. Code that must not be cut at all (starting
a process, which would then run unknown to the run) defers the interrupt to the end of its block
(``interrupts_deferred``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: the signals that stop a run; a run stopped by one exits with 128 + its number (130, 143)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _State:
    #: the first stop signal of the run, once it arrived
    received: signal.Signals | None = None
    #: depth of ``interrupts_deferred`` blocks, and whether a signal waits for their end
    deferring = 0
    pending = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _State.received is not None:
        return  # already stopping: a second Ctrl-C must not cut the stop short
    _State.received = signal.Signals(signum)
    if _State.deferring:
        _State.pending = True
        return
    raise KeyboardInterrupt


def install_interrupt_flag() -> None:
    """In a worker process that stops on SIGINT (a cancelled remote job): SIGINT raises
    KeyboardInterrupt as usual and also records itself."""
    _State.received = None
    signal.signal(signal.SIGINT, _on_signal)


@contextmanager
def interrupt_flag() -> Iterator[None]:
    """In the calling process, for the duration of a run: SIGINT and SIGTERM raise
    ``KeyboardInterrupt`` (the first one only) and record themselves; the previous handlers are
    restored after. Only the main thread may set signal handlers, and no signal reaches another
    thread: there every KeyboardInterrupt counts as a real SIGINT."""
    if not in_main_thread():
        _State.received = signal.SIGINT
        yield
        return
    _State.received = None
    previous = {signum: signal.signal(signum, _on_signal) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """A stop signal that arrives inside the block is raised when the block ends, not inside it.
    Signals are raised in the main thread only: elsewhere the block changes nothing."""
    if not in_main_thread():
        yield
        return
    _State.deferring += 1
    try:
        yield
    finally:
        _State.deferring -= 1
        if not _State.deferring and _State.pending:
            _State.pending = False
            raise KeyboardInterrupt


@contextmanager
def stop_handlers_kept() -> Iterator[None]:
    """After the block, SIGINT and SIGTERM are handled as before it. For libraries that install
    their own handlers when they start: ``ray.init`` makes SIGTERM abort the whole process (exit
    134, no results table written, no tasks cancelled), which would bypass the run's clean stop."""
    if not in_main_thread():
        yield
        return
    saved = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            if handler is not None:  # None: a handler not set from Python, which cannot be restored
                signal.signal(signum, handler)


def in_main_thread() -> bool:
    """Whether signal handlers may be set here, and signals raised."""
    return threading.current_thread() is threading.main_thread()


def ignore_stop_signals() -> None:
    """In a process that has stopped and only exits now: a further Ctrl-C must not turn its exit
    (and exit code) into a KeyboardInterrupt's."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def received_signal() -> signal.Signals | None:
    """The stop signal that interrupted the run, if one did."""
    return _State.received


def interrupted_by_signal() -> bool:
    return _State.received is not None
