"""The step loop shared by the training loops: window averages of the signals, divergence checks.

A step function returns its signals as one device tensor of shape [E, signals], one row per
ensemble member (E = 1 for a trial alone). The loop keeps each step's signals (no operation per
step: on a small network every extra operation is a measurable share of the step) and, every
``DIVERGENCE_CHECK_EVERY`` steps and at evaluations, stacks them into a block, finds each member's
first non-finite step in it and adds it to the window sums. So no host
synchronisation slows the step on a GPU while a divergence is still recorded at its exact step.
Checkpoints (``train.checkpoint_every``) are checks too, so a saved state has nothing pending.
A diverged member stops counting (its record says diverged at that step) while the others train
on; members never mix, so its NaNs stay its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

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


@dataclass
class LoopState:
    """The loop at a check, with nothing pending: the step reached, the signals summed since the
    last evaluation ([E, signals], float64) over ``window`` steps, and each member's first
    non-finite step (-1: none yet). A training state saves it per member, so that a resumed loop
    continues the window it was in."""

    step: int
    sums: torch.Tensor
    window: int
    first_bad_step: torch.Tensor

    @classmethod
    def fresh(cls, members: int, signals: int, device: torch.device) -> LoopState:
        return cls(
            step=0,
            sums=torch.zeros(members, signals, device=device, dtype=torch.float64),
            window=0,
            first_bad_step=torch.full((members,), -1, device=device),
        )

    def member_state(self, member: int) -> dict[str, Any]:
        return {
            "sums": self.sums[member].cpu().clone(),
            "window": self.window,
            "first_bad_step": int(self.first_bad_step[member]),
        }

    @classmethod
    def of_members(cls, step: int, states: Sequence[dict[str, Any]], device: torch.device) -> LoopState:
        """The loop of members saved at ``step`` (``member_state``), stacked again."""
        windows = {state["window"] for state in states}
        if len(windows) > 1:
            raise ValueError(f"members saved at step {step} in different evaluation windows: {windows}")
        return cls(
            step=step,
            sums=torch.stack([state["sums"] for state in states]).to(device),
            window=windows.pop(),
            first_bad_step=torch.tensor([state["first_bad_step"] for state in states], device=device),
        )


def train_steps(
    step_fn: Callable[[], torch.Tensor],
    signal_names: tuple[str, ...],
    members: int,
    steps: int,
    evaluate_at: set[int],
    device: torch.device,
    on_check: Callable[[LoopState], None] | None = None,
    check_at: AbstractSet[int] = frozenset(),
    start: LoopState | None = None,
) -> Iterator[WindowSignals | Divergence]:
    """Run updates up to step ``steps``; yield a Divergence when members are found to have
    diverged (and stop once all have), and the window averages of ``signal_names`` (the order of
    the step's signals) at each step in ``evaluate_at``.

    Checks fall on every multiple of ``DIVERGENCE_CHECK_EVERY``, every step of ``evaluate_at`` and
    ``check_at`` (checkpoints) and the last step: a function of the step alone, so a loop resumed
    from ``start`` (a state of an earlier loop at a check) sums its signals in the blocks the
    uninterrupted loop would have. ``on_check(state)`` is called at every check, after that step's
    evaluation (a checkpoint there holds its curves)."""
    state = start or LoopState.fresh(members, len(signal_names), device)
    pending: list[torch.Tensor] = []
    alive = {member for member, at in enumerate(state.first_bad_step.tolist()) if at < 0}
    if not alive:
        return
    for step in range(state.step + 1, steps + 1):
        pending.append(step_fn())
        checked = step % DIVERGENCE_CHECK_EVERY == 0 or step in evaluate_at or step in check_at
        if not checked and step < steps:
            continue
        recent = torch.stack(pending)
        filled = len(pending)
        pending.clear()
        bad = ~torch.isfinite(recent).all(dim=2)  # [filled, members]
        # the first bad row of each member (argmax returns the first maximum)
        block_first = step - filled + 1 + bad.int().argmax(dim=0)
        first_bad = state.first_bad_step
        state.first_bad_step = torch.where((first_bad < 0) & bad.any(dim=0), block_first, first_bad)
        state.sums += recent.sum(dim=0, dtype=torch.float64)
        state.window += filled
        state.step = step
        diverged = {member: at for member, at in enumerate(state.first_bad_step.tolist()) if at >= 0}
        newly = {member: at for member, at in diverged.items() if member in alive}
        if newly:
            alive -= set(newly)
            yield Divergence(steps=newly)
            if not alive:
                return
        if step in evaluate_at:
            means = (state.sums / state.window).tolist()
            yield WindowSignals(
                step=step, values=[dict(zip(signal_names, row, strict=True)) for row in means]
            )
            state.sums.zero_()
            state.window = 0
        if on_check is not None:
            on_check(state)
