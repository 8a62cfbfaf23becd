"""One ensemble member's share of the training state, and how to put it back.

While an ensemble trains, its state is stacked: every tensor has a leading member dimension (none
for an ensemble of one, whose networks are the trial's own), and every stream is one generator per
member. A trial's training state is saved per member (``genbench.train.training_state``), so that
a rerun which forms its ensembles differently still resumes each trial. Whatever keeps state across
steps besides the networks (the step's streams and optimizers, a remedy's average or schedule)
offers the ``MemberStateful`` protocol: the member's state as plain data that ``torch.load(...,
weights_only=True)`` reads back (tensors, numbers, strings, lists, dicts), and the inverse, which
writes it into the member's slice. The helpers below do that for tensors and optimizers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch


class MemberStateful(Protocol):
    def member_state(self, member: int) -> dict[str, Any]:
        """Member ``member``'s state, as plain data on the CPU."""
        ...

    def load_member_state(self, member: int, state: dict[str, Any]) -> None:
        """Put a ``member_state`` back into member ``member``'s place."""
        ...


def member_slice(tensor: torch.Tensor, member: int, members: int) -> torch.Tensor:
    """Member ``member``'s view of a stacked tensor; the tensor itself in an ensemble of one."""
    return tensor if members == 1 else tensor[member]


def tensors_state(tensors: Sequence[torch.Tensor], member: int, members: int) -> list[torch.Tensor]:
    """Copies of the member's slices of ``tensors``, on the CPU."""
    return [member_slice(tensor, member, members).detach().cpu().clone() for tensor in tensors]


@torch.no_grad()
def load_tensors_state(
    tensors: Sequence[torch.Tensor], member: int, members: int, saved: Sequence[torch.Tensor]
) -> None:
    """Write ``saved`` (from ``tensors_state``) into the member's slices of ``tensors``; a slice
    saved by an ensemble of another size has the same elements (a stacked leaf may add a broadcast
    dimension), so it is reshaped."""
    if len(saved) != len(tensors):
        raise ValueError(f"a saved state of {len(saved)} tensors for {len(tensors)}")
    for tensor, value in zip(tensors, saved, strict=True):
        target = member_slice(tensor, member, members)
        target.copy_(value.reshape(target.shape))


def optimizer_state(
    optimizer: torch.optim.Optimizer, member: int, members: int
) -> list[dict[str, dict[str, Any]] | None]:
    """The member's optimizer state, one entry per parameter in the optimizer's order (None for a
    parameter without state yet): ``elementwise``, its slice of every tensor shaped like the
    parameter (Adam's moments), and ``shared``, the rest as it is (Adam's step count, the same
    for every member of an ensemble)."""
    entries: list[dict[str, dict[str, Any]] | None] = []
    for parameter in optimizer_parameters(optimizer):
        state = optimizer.state.get(parameter)
        if not state:
            entries.append(None)
            continue
        elementwise = {
            key: member_slice(value, member, members).detach().cpu().clone()
            for key, value in state.items()
            if isinstance(value, torch.Tensor) and value.shape == parameter.shape
        }
        shared = {
            key: value.detach().cpu().clone() if isinstance(value, torch.Tensor) else value
            for key, value in state.items()
            if key not in elementwise
        }
        entries.append({"elementwise": elementwise, "shared": shared})
    return entries


@torch.no_grad()
def load_optimizer_state(
    optimizer: torch.optim.Optimizer,
    member: int,
    members: int,
    saved: list[dict[str, dict[str, Any]] | None],
) -> None:
    """Write ``saved`` (from ``optimizer_state``) into the member's place. An ensemble's
    elementwise state tensors that do not exist yet (no update since the optimizer was built) are
    made, zero, and filled member by member."""
    parameters = optimizer_parameters(optimizer)
    if len(saved) != len(parameters):
        raise ValueError(f"a saved optimizer state of {len(saved)} parameters for {len(parameters)}")
    for parameter, entries in zip(parameters, saved, strict=True):
        if entries is None:
            continue
        state = optimizer.state[parameter]
        for key, value in entries["shared"].items():
            state[key] = value.clone() if isinstance(value, torch.Tensor) else value
        for key, value in entries["elementwise"].items():
            if not isinstance(state.get(key), torch.Tensor):
                state[key] = torch.zeros(parameter.shape, dtype=value.dtype, device=parameter.device)
            target = member_slice(state[key], member, members)
            target.copy_(value.reshape(target.shape))


def optimizer_parameters(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [parameter for group in optimizer.param_groups for parameter in group["params"]]
