"""The step loop shared by the training loops: window averages of the signals, divergence checks.

A step function returns its signals as one device tensor of shape [E, signals], one row per
ensemble member (E = 1 for a trial alone). The loop keeps each step's signals (no operation per
step: on a small network every extra operation is a measurable share of the step) and, every
``DIVERGENCE_CHECK_EVERY`` steps and at evaluations, stacks them into a block, finds each member's
first non-finite step in it and adds it to the window sums. So no host
synchronisation slows the step on a GPU while a divergence is still recorded at its exact step.
A diverged member stops counting (its record says diverged at that step) while the others train
on; members never mix, so its NaNs stay its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

DIVERGENCE_CHECK_EVERY = 10


@dataclass
class WindowSignals:
    """Training signals averaged since the last evaluation, one dict per member."""

    step: int
    values: list[dict[str, float]]


@dataclass
class Divergence:
    """Members whose signals stopped being finite, with the first such step of each."""

    steps: dict[int, int]


def train_steps(
    step_fn: Callable[[], torch.Tensor],
    signal_names: tuple[str, ...],
    members: int,
    steps: int,
    evaluate_at: set[int],
    device: torch.device,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[WindowSignals | Divergence]:
    """Run ``steps`` updates; yield a Divergence when members are found to have diverged (and
    stop once all have), and the window averages of ``signal_names`` (the order of the step's
    signals) at each step in ``evaluate_at``. ``on_progress(step)`` is called at every check."""
    sums = torch.zeros(members, len(signal_names), device=device, dtype=torch.float64)
    window = 0
    pending: list[torch.Tensor] = []
    first_bad_step = torch.full((members,), -1, device=device)
    alive = set(range(members))
    for step in range(1, steps + 1):
        pending.append(step_fn())
        if len(pending) < DIVERGENCE_CHECK_EVERY and step not in evaluate_at and step < steps:
            continue
        recent = torch.stack(pending)
        filled = len(pending)
        pending.clear()
        bad = ~torch.isfinite(recent).all(dim=2)  # [filled, members]
        # the first bad row of each member (argmax returns the first maximum)
        block_first = step - filled + 1 + bad.int().argmax(dim=0)
        first_bad_step = torch.where((first_bad_step < 0) & bad.any(dim=0), block_first, first_bad_step)
        sums += recent.sum(dim=0, dtype=torch.float64)
        window += filled
        diverged = {member: at for member, at in enumerate(first_bad_step.tolist()) if at >= 0}
        newly = {member: at for member, at in diverged.items() if member in alive}
        if newly:
            alive -= set(newly)
            yield Divergence(steps=newly)
            if not alive:
                return
        if on_progress is not None:
            on_progress(step)
        if step in evaluate_at:
            means = (sums / window).tolist()
            yield WindowSignals(
                step=step, values=[dict(zip(signal_names, row, strict=True)) for row in means]
            )
            sums.zero_()
            window = 0
