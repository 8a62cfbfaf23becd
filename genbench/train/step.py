"""What a training loop (GAN, VAE) hands the shared step loop: the step and its signals' names."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import torch

from genbench.errors import GenbenchError
from genbench.spec import TrainSpec
from genbench.train.member_state import MemberStateful


@dataclass
class TrainingStep:
    #: one update of every member; returns the signals [E, len(signals)]
    step: Callable[[], torch.Tensor]
    signals: tuple[str, ...]
    #: real training samples one step consumes per member, for samples/s
    samples_per_step: int
    #: the networks whose forward passes run compiled (``train.compile``)
    compiled: tuple[str, ...] = ()
    #: the context in which the networks hold the weights that are evaluated, sampled and
    #: checkpointed: the trained ones by default, an EMA's average (``genbench.remedies.ema``)
    evaluated_weights: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext
    #: what the step keeps across updates besides the networks (streams, optimizers, remedies),
    #: per member, for a trial's training state (``genbench.train.training_state``); None: nothing
    state: MemberStateful | None = None


def forward_precision(
    train: TrainSpec, device: torch.device
) -> Callable[[], contextlib.AbstractContextManager]:
    """The context the step's forward passes run in: bf16 autocast (``train.precision``) or none.
    Backward passes and optimizer steps run outside it, as autocast recommends."""
    if train.precision == "bf16":
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def compile_networks(train: TrainSpec, device: torch.device, networks: dict[str, object]) -> tuple[str, ...]:
    """Compile the forward passes of ``networks`` (name -> member module) when the spec asks;
    returns the names compiled. On the CPU, torch.compile's inductor needs a C++ compiler: without
    one the trial fails now, with that reason, instead of at its first step with a long trace."""
    if not train.compile:
        return ()
    if device.type == "cpu" and shutil.which("g++") is None and shutil.which("c++") is None:
        raise GenbenchError(
            "train.compile on the CPU needs a C++ compiler (g++) for torch.compile; set compile: false"
        )
    for module in networks.values():
        module.compile_forward()
    return tuple(networks)


def per_member(value: torch.Tensor, members: int, what: str) -> torch.Tensor:
    """``value`` as one entry per member, [E]. A trial alone may return a scalar; for an ensemble
    a scalar would be an average over the members, whose gradient is not each member's own, so it
    is refused instead of training every member at 1/E of its learning rate."""
    if value.shape == (members,):
        return value
    if value.dim() == 0 and members == 1:
        return value.reshape(1)
    raise GenbenchError(
        f"{what} has shape {tuple(value.shape)}; trials trained together need one value per member, "
        f"shape ({members},): reduce over the last (batch) dimension only, e.g. .mean(-1)"
    )
