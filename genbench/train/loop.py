"""The step loop shared by the training loops: window averages of the signals, divergence checks.

A step function returns its signals as one device tensor; the loop sums them on the device and
reads them only at evaluations, and keeps the first non-finite step on the device, checking it every
``DIVERGENCE_CHECK_EVERY`` steps, so no host synchronisation slows the step on a GPU while a
divergence is still recorded at its exact step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

DIVERGENCE_CHECK_EVERY = 10


@dataclass
class WindowSignals:
    """Training signals averaged since the last evaluation."""

    step: int
    values: dict[str, float]


@dataclass
class Divergence:
    """The first step whose signals were not finite; the trial stops there."""

    step: int


def train_steps(
    step_fn: Callable[[], torch.Tensor],
    signal_names: tuple[str, ...],
    steps: int,
    evaluate_at: set[int],
    device: torch.device,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[WindowSignals | Divergence]:
    """Run ``steps`` updates; yield the window averages of ``signal_names`` (the order of the
    step's signals) at each step in ``evaluate_at``, or a Divergence (and stop) at the first step
    whose signals are not finite. ``on_progress(step)`` is called at every divergence check."""
    sums = torch.zeros(len(signal_names), device=device, dtype=torch.float64)
    window = 0
    first_bad_step = torch.tensor(-1, device=device)
    for step in range(1, steps + 1):
        signals = step_fn()
        finite = torch.isfinite(signals).all()
        first_bad_step = torch.where((first_bad_step < 0) & ~finite, step, first_bad_step)
        sums += signals.double()
        window += 1
        if step % DIVERGENCE_CHECK_EVERY == 0 or step in evaluate_at:
            bad = int(first_bad_step)
            if bad >= 0:
                yield Divergence(step=bad)
                return
            if on_progress is not None:
                on_progress(step)
        if step in evaluate_at:
            means = (sums / window).tolist()
            yield WindowSignals(step=step, values=dict(zip(signal_names, means, strict=True)))
            sums.zero_()
            window = 0
