"""``train.timeout``: a trial's wall-time limit, checked cooperatively between steps.

Training cannot be stopped safely in the middle of an update, so the limit is checked at the step
loop's checks (every ``DIVERGENCE_CHECK_EVERY`` steps, after evaluations and at checkpoints): a
trial may run over it by up to one such block of steps or one evaluation. The clock starts when the
trial's parts are built and covers training and evaluation. An ensemble has one clock: its members
time out together.
"""

from __future__ import annotations

import time


class TrialTimeout(Exception):
    """A trial ran past ``train.timeout``; its record is ``failed`` with this message."""


class Deadline:
    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.started = time.monotonic()

    def passed(self) -> bool:
        return self.seconds is not None and time.monotonic() - self.started > self.seconds

    def timeout(self, step: int, steps: int) -> TrialTimeout:
        return TrialTimeout(f"exceeded train.timeout of {self.seconds:g} s at step {step} of {steps}")
