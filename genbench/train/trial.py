"""Run trials end to end: build their parts, train (or only evaluate) and collect the records.

Trials that differ only in their seed (and dataset, of one sample shape) run together as one
vectorized ensemble (``run_trials``); a trial alone is an ensemble of one. Either way each trial
gets its own record.

Randomness is split into independent, seeded streams (initial weights, training data, training
latents, evaluation latents, the reference set), so the same trial gives the same numbers on the
CPU, and the reference set depends only on the dataset: every trial of a suite is evaluated
against the same real samples.

A GAN trial's remedies (``genbench.remedies``) act at two places here: each member's networks are
prepared before stacking (spectral norm), and the weights that are evaluated, sampled and
checkpointed are the ones the training step names (``TrainingStep.evaluated_weights``: an EMA's).

Two run options (``genbench.spec.RunOptions``) act here and never change a result: with
``checkpoint_every`` each member's full training state is saved on that schedule
(``genbench.train.training_state``), and an ensemble given its members' saved states continues from
them; ``timeout`` ends the ensemble with ``TrialTimeout`` when its wall time runs out (its states
saved first, with ``checkpoint_every``).
"""

from __future__ import annotations

import json
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import genbench
from genbench.clock import utc_now
from genbench.errors import GenbenchError
from genbench.metrics.keys import (
    KEY_EVAL_SECONDS,
    KEY_PEAK_MEMORY_MB,
    KEY_SAMPLES_PER_SECOND,
    KEY_TRAIN_SECONDS,
    KEY_WARMUP_STEPS,
)
from genbench.models.checkpoint import checkpoint_bytes, networks_of
from genbench.models.parts import GanParts, VaeParts
from genbench.models.stacking import stack_networks
from genbench.records import CurvePoint, EnsembleMembership, ModeSet, TrialRecord, TrialStatus
from genbench.registry import import_object
from genbench.remedies.base import build_remedies
from genbench.spec import Trial, TrialSpec
from genbench.train.build import TrialParts, build_trial_parts
from genbench.train.deadline import Deadline
from genbench.train.evaluation import (
    DataGroup,
    Evaluation,
    copy_member,
    evaluate_ensemble,
    evaluation_steps,
)
from genbench.train.loop import Divergence, LoopState, WindowSignals, train_steps
from genbench.train.step import TrainingStep
from genbench.train.streams import EVAL_STREAM, REFERENCE_SEED, MemberStreams, seeded
from genbench.train.timing import TrainingClock
from genbench.train.training_state import (
    SavedTraining,
    TrainingStates,
    capture,
    checkpoint_steps,
    restore_networks,
    restore_step,
    resume_step,
    resumed_loop,
)

SAVED_SAMPLES = 2000

#: called with (steps done, steps in all) while a trial trains
ProgressCallback = Callable[[int, int], None]
#: called with (trial id, steps done, steps in all) while trials train together
TrialsProgress = Callable[[str, int, int], None]


@dataclass
class TrialOutcome:
    record: TrialRecord
    curves: list[CurvePoint] = field(default_factory=list)
    samples: np.ndarray | None = None
    mode_centres: np.ndarray | None = None
    checkpoint: bytes | None = None


def software_environment() -> dict[str, str]:
    """Versions and platform: what a run's process and each trial's worker share."""
    return {
        "genbench": genbench.__version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def environment(device: torch.device) -> dict[str, str]:
    """The software environment with the device a trial ran on (named, which on CUDA opens a
    context: done in the worker that uses the device anyway) and its threads."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    return {
        **software_environment(),
        "device": f"{device.type}: {name}",
        "threads": str(torch.get_num_threads()),
    }


def peak_memory_mb(device: torch.device) -> float:
    """CUDA: peak memory allocated by tensors; CPU: the process's peak resident set size."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10


def run_trial(
    trial: Trial, suite_name: str, device: torch.device, progress: ProgressCallback | None = None
) -> TrialOutcome:
    """Train and evaluate ``trial`` alone (an ensemble of one); raises on a failure (the runner
    records it), returns a record with status ``diverged`` when the losses or samples stop being
    finite."""
    callback = (lambda trial_id, done, total: progress(done, total)) if progress else None
    return run_trials([trial], suite_name, device, callback)[0]


@dataclass
class MemberState:
    """What one member's trial has gathered so far."""

    curves: list[CurvePoint] = field(default_factory=list)
    mode_sets: list[ModeSet] = field(default_factory=list)
    #: only the latest evaluation is kept: its samples can be large (26,000 images on stacked digits)
    latest: Evaluation | None = None
    diverged_step: int | None = None
    #: the steps at which the trial continued from a saved training state
    resumed_at: list[int] = field(default_factory=list)

    def diverge(self, step: int) -> None:
        self.diverged_step, self.latest = step, None

    def saved(self) -> dict[str, Any]:
        """What a training state keeps of it: all but the latest evaluation, which the final
        step, never saved at, evaluates again."""
        return {
            "curves": [point.model_dump() for point in self.curves],
            "mode_sets": [mode_set.model_dump() for mode_set in self.mode_sets],
            "diverged_step": self.diverged_step,
        }

    @classmethod
    def resumed(cls, saved: SavedTraining) -> MemberState:
        progress = saved.progress
        return cls(
            curves=[CurvePoint(**point) for point in progress["curves"]],
            mode_sets=[ModeSet(**mode_set) for mode_set in progress["mode_sets"]],
            diverged_step=progress["diverged_step"],
            resumed_at=[*saved.resumed_at, saved.step],
        )


def run_trials(
    trials: Sequence[Trial],
    suite_name: str,
    device: torch.device,
    progress: TrialsProgress | None = None,
    *,
    saved: Sequence[SavedTraining | None] = (),
    state_files: TrainingStates | None = None,
) -> list[TrialOutcome]:
    """Train and evaluate ``trials`` together as one vectorized ensemble; outcomes in their order.

    The trials must differ only in their seed and their dataset (of one sample shape). Member k is
    built under trial k's seed and fed from trial k's dataset and streams, so its numbers are those
    of trial k run alone (to float tolerance). Raises when the ensemble as a whole fails; a member
    that diverges is recorded so and the others go on.

    ``saved``: the trials' saved training states, all of one step (or none): the ensemble continues
    from them. ``state_files``: where the trials' states are saved (their run folder), with the run
    option ``checkpoint_every``; None saves none. Over the run option ``timeout`` it raises
    ``genbench.train.deadline.TrialTimeout``.
    """
    started_at = utc_now()
    options = trials[0].run_options
    deadline = Deadline(options.timeout)
    specs = [trial.spec for trial in trials]
    spec = specs[0]
    check_same_but_seed_and_dataset(specs)
    saved = list(saved) or [None] * len(trials)
    resume_from = resume_step(saved)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    members = [build_member(member_spec, device) for member_spec in specs]
    first = members[0]
    if len({tuple(member.dataset.shape) for member in members}) > 1:
        raise GenbenchError("trials trained as one ensemble need datasets of one sample shape")
    for member, member_saved in zip(members, saved, strict=True):
        if member_saved is not None:
            restore_networks(member.networks, member_saved)
    networks = stack_networks([member.networks for member in members])
    seeds = [member_spec.seed for member_spec in specs]
    groups = data_groups(specs, members, device)

    eval_latents = MemberStreams.seeded(device, seeds, EVAL_STREAM).draw(
        lambda rng: first.networks.latents(spec.train.eval_samples, rng)
    )
    schedule = evaluation_steps(spec.train.steps, spec.train.eval_every)
    states = [MemberState.resumed(state) if state else MemberState() for state in saved]
    alive = [member for member, state in enumerate(states) if state.diverged_step is None]
    start = resumed_loop(saved, device)
    saves = state_files is not None and options.checkpoint_every is not None
    checkpoints = checkpoint_steps(spec.train.steps, options.checkpoint_every) if saves else set()

    eval_seconds = 0.0
    samples_per_step = 0
    train_started = time.perf_counter()

    clock = TrainingClock(device)
    training_step: TrainingStep | None = None

    def save_states(loop: LoopState) -> None:
        for index, (trial, member, state) in enumerate(zip(trials, members, states, strict=True)):
            captured = capture(
                index, loop, training_step, networks, member.networks, state.saved(), state.resumed_at
            )
            state_files.save(trial.id, captured)

    def on_check(loop: LoopState) -> None:
        clock.start(loop.step)  # the first check ends the warm-up
        if progress is not None:
            for member in alive:
                progress(trials[member].id, loop.step, spec.train.steps)
        if loop.step >= spec.train.steps:
            return  # trained: the record follows
        over = deadline.passed()
        if loop.step in checkpoints or (over and saves):
            save_states(loop)
        if over:
            raise deadline.timeout(loop.step, spec.train.steps)

    execution: dict[str, str] = {}
    evaluated_weights: Callable[[], AbstractContextManager[None]] = nullcontext
    events = training_events(
        spec, seeds, members, networks, device, set(schedule), on_check, checkpoints, start
    )
    for event in events:
        if isinstance(event, TrainingStep):
            training_step = event
            samples_per_step = event.samples_per_step
            evaluated_weights = event.evaluated_weights
            if spec.train.compile:
                execution["compiled"] = ", ".join(event.compiled) or "nothing"
            restore_step(event, saved)
            continue
        if isinstance(event, Divergence):
            for member, step in event.steps.items():
                states[member].diverge(step)
            alive = [member for member in alive if member not in event.steps]
            continue
        eval_started = time.perf_counter()
        clock.pause()
        with evaluated_weights():
            evaluations = evaluate_ensemble(
                event.step,
                networks,
                [member.networks for member in members],
                alive,
                groups,
                first.metrics,
                eval_latents,
                spec.train.batch_size,
            )
        clock.resume()
        eval_seconds += time.perf_counter() - eval_started
        for member, evaluation in evaluations.items():
            if not evaluation.finite:
                if not spec.trains:
                    raise GenbenchError("the generator returned non-finite samples (NaN or Inf)")
                states[member].diverge(event.step)
                continue
            record_evaluation(states[member], evaluation, event.values[member] if event.values else {})
        alive = [member for member in alive if states[member].diverged_step is None]
        if not alive:
            break
    train_seconds = time.perf_counter() - train_started - eval_seconds
    shared = EnsembleResult(
        suite_name=suite_name,
        started_at=started_at,
        size=len(trials),
        networks=networks,
        first=first,
        timings=ensemble_timings(
            spec, clock, train_seconds, eval_seconds, samples_per_step, device, resume_from
        ),
        environment={**environment(device), "timing": clock.method, **execution},
    )
    group_of = {index: group for group in groups for index in group.members}
    # checkpoints hold the weights that were evaluated
    with evaluated_weights():
        return [
            member_outcome(shared, index, trial, member, state, group_of[index])
            for index, (trial, member, state) in enumerate(zip(trials, members, states, strict=True))
        ]


@dataclass
class EnsembleResult:
    """What the members of one ensemble share in their records."""

    suite_name: str
    started_at: str
    size: int
    networks: GanParts | VaeParts
    first: TrialParts
    #: the ensemble's timings, with samples/s per trial under KEY_SAMPLES_PER_SECOND
    timings: dict[str, float]
    environment: dict[str, str]


def ensemble_timings(
    spec: TrialSpec,
    clock: TrainingClock,
    train_seconds: float,
    eval_seconds: float,
    samples_per_step: int,
    device: torch.device,
    first_step: int = 0,
) -> dict[str, float]:
    """Training and evaluation seconds, peak memory, and (when it trained) the warm-up and the
    samples per second each trial consumed after it; a run too short to have a warm-up is timed
    whole. A trial resumed at ``first_step`` (from a saved training state) is timed over this run
    only: its seconds, warm-up and samples/s cover the steps after ``first_step``, not the runs
    before it, whose times died with them."""
    timings = {
        KEY_TRAIN_SECONDS: train_seconds,
        KEY_EVAL_SECONDS: eval_seconds,
        KEY_PEAK_MEMORY_MB: peak_memory_mb(device),
    }
    if not spec.trains:
        return timings
    timed_seconds = clock.seconds()
    started = clock.start_step
    warmup = started - first_step if started is not None and started < spec.train.steps else 0
    if warmup == 0:
        timed_seconds = train_seconds
    timings[KEY_WARMUP_STEPS] = float(warmup)
    if timed_seconds > 0:
        timings[KEY_SAMPLES_PER_SECOND] = (
            (spec.train.steps - first_step - warmup) * samples_per_step / timed_seconds
        )
    return timings


def member_outcome(
    shared: EnsembleResult, index: int, trial: Trial, member: TrialParts, state: MemberState, group: DataGroup
) -> TrialOutcome:
    """Member ``index``'s record, curves, samples and checkpoint (its trained weights copied out
    of the ensemble); a diverged member has no final metrics, throughput or checkpoint."""
    spec = trial.spec
    finished = state.diverged_step is None
    timings = dict(shared.timings)
    if not finished:
        timings.pop(KEY_SAMPLES_PER_SECOND, None)
    if spec.trains and finished:
        copy_member(shared.networks, index, member.networks)
    last = state.latest if finished else None
    reference_protocol = {
        "eval_samples": spec.train.eval_samples,
        "reference_samples": int(group.reference.shape[0]),
        "reference": {"dataset": spec.dataset.model_dump(mode="json"), "seed": REFERENCE_SEED},
    }
    record = TrialRecord(
        id=trial.id,
        suite=shared.suite_name,
        status=TrialStatus.FINISHED if finished else TrialStatus.DIVERGED,
        spec=spec.model_dump(mode="json"),
        grid=trial.grid,
        grid_columns=trial.grid_columns,
        metrics=last.values if last else {},
        protocols=metric_protocols(shared.first, last, reference_protocol),
        diverged_step=state.diverged_step,
        timings=timings,
        environment=shared.environment,
        covered_modes=state.mode_sets,
        ensemble=EnsembleMembership(member=index, size=shared.size) if shared.size > 1 else None,
        resumed_at=state.resumed_at,
        started_at=shared.started_at,
        finished_at=utc_now(),
    )
    centres = getattr(member.dataset, "mode_centres", None)
    checkpoint = None
    if spec.trains and finished:
        checkpoint = checkpoint_bytes(
            member.networks,
            spec.model.model_dump(mode="json"),
            tuple(member.dataset.shape),
            [remedy.model_dump(mode="json") for remedy in spec.remedies],
        )
    return TrialOutcome(
        record=record,
        curves=state.curves,
        samples=last.samples[:SAVED_SAMPLES].cpu().numpy() if last else None,
        mode_centres=centres.cpu().numpy() if centres is not None else None,
        checkpoint=checkpoint,
    )


def check_same_but_seed_and_dataset(specs: Sequence[TrialSpec]) -> None:
    """Trials train together only when nothing but their seed and dataset differs."""
    shared = {
        json.dumps(spec.model_dump(mode="json", exclude={"seed", "dataset"}), sort_keys=True)
        for spec in specs
    }
    if len(shared) > 1:
        raise GenbenchError("trials trained as one ensemble must differ only in their seed and dataset")


def data_groups(
    specs: Sequence[TrialSpec], members: Sequence[TrialParts], device: torch.device
) -> list[DataGroup]:
    """The members by dataset, each group with its dataset's reference set: drawn once, with a
    fixed seed, so every trial of a dataset is scored against the same real samples."""
    by_dataset: dict[str, DataGroup] = {}
    for index, (spec, member) in enumerate(zip(specs, members, strict=True)):
        key = json.dumps(spec.dataset.model_dump(mode="json"), sort_keys=True)
        if key not in by_dataset:
            count = spec.train.reference_samples or spec.train.eval_samples
            # held-out data where the dataset has a split (images), fresh draws where it is generated
            draw_reference = getattr(member.dataset, "reference", member.dataset.sample)
            reference = draw_reference(count, seeded(device, REFERENCE_SEED))
            by_dataset[key] = DataGroup(member.dataset, reference, [])
        by_dataset[key].members.append(index)
    return list(by_dataset.values())


def build_member(spec: TrialSpec, device: torch.device) -> TrialParts:
    """One member's parts, built under its own seed (initial weights), prepared by its remedies
    (on the CPU, so a member starts the same on every device and in every ensemble) and moved to
    ``device`` (in channels-last memory format when the spec asks: it changes only conv weights'
    layout)."""
    torch.manual_seed(spec.seed)
    parts = build_trial_parts(spec)
    if spec.remedies and not isinstance(parts.networks, GanParts):
        raise GenbenchError(
            f"remedies change GAN training; model '{spec.model.name}' built {type(parts.networks).__name__}"
        )
    for remedy in build_remedies(spec.remedies):
        remedy.prepare_member(parts.networks, spec.seed)
    for module in networks_of(parts.networks).values():
        module.to(device)
        if spec.train.channels_last:
            module.to(memory_format=torch.channels_last)
    return parts


def record_evaluation(state: MemberState, evaluation: Evaluation, window_values: dict[str, float]) -> None:
    state.latest = evaluation
    step = evaluation.step
    for metric, value in {**window_values, **evaluation.signals, **evaluation.values}.items():
        state.curves.append(CurvePoint(step=step, metric=metric, value=value))
    if evaluation.covered_modes is not None:
        state.mode_sets.append(ModeSet(step=step, modes=evaluation.covered_modes))


def metric_protocols(
    parts: TrialParts, evaluation: Evaluation | None, reference_protocol: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """For each final metric value, the protocol it was computed under."""
    if evaluation is None:
        return {}
    protocols: dict[str, dict[str, Any]] = {}
    for name, keys in evaluation.keys_by_metric.items():
        protocol = {**parts.metrics[name].protocol(), **reference_protocol}
        protocols.update({key: protocol for key in keys})
    return protocols


#: the training step of each kind of built model, imported when a trial of that kind trains; each
#: has the signature of ``genbench.train.gan.gan_step``
STEP_BUILDERS = {
    GanParts: "genbench.train.gan:gan_step",
    VaeParts: "genbench.train.vae:vae_step",
}


def training_events(
    spec: TrialSpec,
    seeds: Sequence[int],
    members: Sequence[TrialParts],
    networks: GanParts | VaeParts,
    device: torch.device,
    schedule: set[int],
    on_check: Callable[[LoopState], None],
    checkpoints: AbstractSet[int] = frozenset(),
    start: LoopState | None = None,
) -> Iterator[TrainingStep | WindowSignals | Divergence]:
    """The step built (first, when training), then window signals at each evaluation step and
    members' divergences; step 0 only evaluates. ``on_check(state)`` at every check of the loop
    (``checkpoints`` are checks too); ``start``: the loop's state where it resumes."""
    if not spec.trains:
        yield WindowSignals(step=0, values=[])
        return
    kind = type(members[0].networks)
    target = STEP_BUILDERS.get(kind)
    if target is None:
        raise GenbenchError(f"no training step for models of kind {kind.__name__}")
    step = import_object(target)(spec, seeds, members, networks, device)
    yield step
    yield from train_steps(
        step.step, step.signals, len(seeds), spec.train.steps, schedule, device, on_check, checkpoints, start
    )
