"""A trial's full training state on disk, so that a killed, preempted or timed-out trial continues.

With ``train.checkpoint_every: N`` every N generator updates each trial of an ensemble saves its
own state to ``trials/<id>/training_state.pt`` in the run folder (written to a temporary file
beside it and renamed into place, so a kill never leaves half a state):

- its networks (the member's slice of every stacked parameter and buffer, in the trial's own
  network's names: spectral norm's vectors included),
- the step's state (``TrainingStep.state``): every random stream's position, both optimizers'
  states, and its remedies' states (an EMA's average, the instance-noise schedule's position),
- the step loop's state at that check (``LoopState``: the evaluation window's sums, divergence),
- what the trial has recorded so far: curves, covered mode sets, the step it diverged at,
- the trial's id, the identity of the code (``genbench.code_identity``) and the steps it resumed at.

A rerun into the run folder (``genbench run`` again, a requeued SLURM job, ``--retries``) finds
the states (``genbench.runner.batch``), and each trial continues at its saved step with exactly the
state it had: on the CPU its result equals an uninterrupted run's. A state is used only by the
same trial under the same code; a damaged one is set aside like any damaged trial file. Once a
trial's record is written its state is removed. No state is saved at the last step (the record
follows at once), so a resumed trial always reaches its final evaluation again, which is what its
record reports.

Files are read with ``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts,
never pickled objects.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from genbench.atomic import write_atomically
from genbench.code_identity import CodeIdentity
from genbench.errors import GenbenchError
from genbench.models.checkpoint import networks_of
from genbench.models.parts import GanParts, VaeParts
from genbench.store import TRAINING_STATE_FILE, DamagedFile, RunStore
from genbench.train.evaluation import copy_member
from genbench.train.loop import LoopState
from genbench.train.step import TrainingStep

FORMAT = "genbench training state"
VERSION = 1
#: the saved parts of a state, each a dict (``SavedTraining``'s fields but ``step`` and ``resumed_at``)
PARTS = ("networks", "training", "loop", "progress")


@dataclass(frozen=True)
class SavedTraining:
    """One trial's training state at ``step``, as saved and as read back."""

    step: int
    #: network name (generator, discriminator, encoder, ...) -> its state dict
    networks: dict[str, dict[str, torch.Tensor]]
    #: the training step's member state (``TrainingStep.state.member_state``)
    training: dict[str, Any]
    #: the step loop's member state (``LoopState.member_state``)
    loop: dict[str, Any]
    #: what the trial recorded so far (``genbench.train.trial.MemberState.saved``)
    progress: dict[str, Any]
    #: the steps earlier runs of the trial resumed at
    resumed_at: list[int] = field(default_factory=list)


def checkpoint_steps(steps: int, every: int | None) -> set[int]:
    """The steps at which states are saved: every ``every`` updates, but not the last step."""
    return set(range(every, steps, every)) if every else set()


def resume_step(saved: Sequence[SavedTraining | None]) -> int:
    """The step an ensemble continues at: its members' saved step (0: none saved). Members saved at
    other steps, or some without a state, cannot train in lockstep (``genbench.runner.batch``
    splits them)."""
    steps = {state.step if state is not None else 0 for state in saved}
    if len(steps) > 1:
        raise ValueError(f"an ensemble's members resume at one step, not at steps {sorted(steps)}")
    return steps.pop()


def resumed_loop(saved: Sequence[SavedTraining | None], device: torch.device) -> LoopState | None:
    """The step loop of members continuing from their saved states (None: they start afresh)."""
    states = [state for state in saved if state is not None]
    if not states:
        return None
    return LoopState.of_members(states[0].step, [state.loop for state in states], device)


def capture(
    member: int,
    loop: LoopState,
    step: TrainingStep | None,
    stacked: GanParts | VaeParts,
    own: GanParts | VaeParts,
    progress: dict[str, Any],
    resumed_at: list[int],
) -> SavedTraining:
    """Member ``member``'s training state at a check of the loop: its weights copied out of the
    ensemble's ``stacked`` networks into its ``own`` (their state dicts are what is saved)."""
    if step is None or step.state is None:
        raise GenbenchError("this kind of training keeps no saveable state; drop train.checkpoint_every")
    copy_member(stacked, member, own)
    networks = {
        name: {key: tensor.detach().cpu().clone() for key, tensor in module.state_dict().items()}
        for name, module in networks_of(own).items()
    }
    return SavedTraining(
        step=loop.step,
        networks=networks,
        training=step.state.member_state(member),
        loop=loop.member_state(member),
        progress=progress,
        resumed_at=list(resumed_at),
    )


def restore_networks(own: GanParts | VaeParts, saved: SavedTraining) -> None:
    """Load the saved weights into a member's own networks, before they are stacked."""
    for name, module in networks_of(own).items():
        module.load_state_dict(saved.networks[name])


def restore_step(step: TrainingStep, saved: Sequence[SavedTraining | None]) -> None:
    """Put the members' saved step states (streams, optimizers, remedies) into the built step."""
    for member, state in enumerate(saved):
        if state is None:
            continue
        if step.state is None:
            raise GenbenchError("this kind of training keeps no saveable state; drop train.checkpoint_every")
        step.state.load_member_state(member, state.training)


class TrainingStates:
    """The training-state files of trials of one run folder, and the code each trial runs under."""

    def __init__(self, store: RunStore, codes: Mapping[str, CodeIdentity]) -> None:
        self.store = store
        self.codes = dict(codes)

    def path(self, trial_id: str) -> Path:
        return self.store.trial_dir(trial_id) / TRAINING_STATE_FILE

    def save(self, trial_id: str, state: SavedTraining) -> None:
        payload = {
            "format": FORMAT,
            "version": VERSION,
            "trial_id": trial_id,
            "code": self.codes[trial_id].model_dump(mode="json"),
            **asdict(state),
        }
        write_atomically(self.path(trial_id), lambda file: torch.save(payload, file), "wb")

    def remove(self, trial_id: str) -> None:
        self.path(trial_id).unlink(missing_ok=True)

    def load(self, trial_id: str) -> SavedTraining | None:
        """The trial's saved state; None without one, and (said on stderr) for a state of other
        code or another trial, which is not used, or a damaged one, set aside with the trial's
        folder: the trial then starts afresh."""
        path = self.path(trial_id)
        if not path.is_file():
            return None
        try:
            payload = read_state(path)
        except DamagedFile as damaged:
            moved = self.store.set_aside(trial_id)
            warn(
                f"{damaged.path} is damaged ({damaged.problem}): set aside as {moved}; "
                "the trial starts afresh"
            )
            return None
        if payload["trial_id"] != trial_id:
            warn(
                f"{path} holds the training state of trial {payload['trial_id']}: not used; "
                "the trial starts afresh"
            )
            return None
        code = self.codes[trial_id]
        if payload["code"] != code.model_dump(mode="json"):
            changes = code.differences(CodeIdentity.model_validate(payload["code"]))
            warn(f"{path} was saved by other code ({'; '.join(changes)}): not used; the trial starts afresh")
            return None
        return SavedTraining(
            step=payload["step"],
            resumed_at=list(payload["resumed_at"]),
            **{part: payload[part] for part in PARTS},
        )


def read_state(path: Path) -> dict[str, Any]:
    """The payload of a state file; ``DamagedFile`` when it is not one this genbench writes."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    # a cut or overwritten file fails in the zip reader, the unpickler or the storage reader, each
    # with its own exception type
    except Exception as error:
        raise DamagedFile(path, f"not a readable training state: {type(error).__name__}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DamagedFile(path, "not a genbench training state")
    if payload.get("version") != VERSION:
        raise DamagedFile(path, f"a training state of format version {payload.get('version')}, not {VERSION}")
    expected = {"trial_id": str, "code": dict, "step": int, "resumed_at": list, **dict.fromkeys(PARTS, dict)}
    for key, kind in expected.items():
        if not isinstance(payload.get(key), kind):
            raise DamagedFile(path, f"its '{key}' is missing or not a {kind.__name__}")
    try:
        CodeIdentity.model_validate(payload["code"])
    except ValueError:
        raise DamagedFile(path, "its code identity is not one") from None
    return payload


def warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)
