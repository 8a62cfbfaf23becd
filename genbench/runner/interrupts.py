"""Tell a real interrupt (Ctrl-C, SIGINT) apart from a ``KeyboardInterrupt`` raised by user code.

A trial runs user code (datasets, models, losses named as ``package.module:factory``). If that code
raises ``KeyboardInterrupt`` or calls ``sys.exit``, it is the trial that failed, and the suite must
go on; a real Ctrl-C must stop the run. Python raises the same exception for both, so the SIGINT
handler installed here also raises a flag that says the signal really arrived.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class _Flag:
    received = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _Flag.received = True
    raise KeyboardInterrupt


def install_interrupt_flag() -> None:
    """In a worker process: SIGINT raises KeyboardInterrupt as usual and also records itself."""
    signal.signal(signal.SIGINT, _on_sigint)


@contextmanager
def interrupt_flag() -> Iterator[None]:
    """In the calling process, for the duration of a run; the previous handler is restored after.
    Only the main thread may set signal handlers: elsewhere every KeyboardInterrupt counts as real."""
    if threading.current_thread() is not threading.main_thread():
        _Flag.received = True
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    _Flag.received = False
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def interrupted_by_signal() -> bool:
    return _Flag.received
