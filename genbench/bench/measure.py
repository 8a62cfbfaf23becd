"""One measurement: an ensemble of E members of a configuration, trained and sampled on a device.

The ensemble is built the way the runner builds one (``genbench.train.trial``: each member under
its own seed, then stacked) and trained by the same step and loop, so what is measured is what a
run costs, harness included. Each measurement builds a fresh ensemble: the optimizers' state and
the allocator's caches of one size must not flatter the next.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from genbench.bench.plan import BenchPlan, Configuration
from genbench.models.parts import GanParts, VaeParts
from genbench.models.stacking import stack_networks
from genbench.registry import import_object
from genbench.spec import TrialSpec
from genbench.train.build import TrialParts
from genbench.train.evaluation import generate
from genbench.train.loop import train_steps
from genbench.train.step import TrainingStep
from genbench.train.streams import EVAL_STREAM, MemberStreams
from genbench.train.timing import TrainingClock
from genbench.train.trial import STEP_BUILDERS, build_member, environment

NOT_MEASURED = math.nan
#: sampling is timed this many times and the fastest kept: one draw takes milliseconds on a small
#: network, where a single interruption by another process would otherwise be the measurement
SAMPLING_REPEATS = 3
NOTE_ALONE = "does not stack"
NOTE_NO_TRAINING = "steps: 0, sampling only"
NOTE_DIVERGED = "diverged while timed"
NOTE_OUT_OF_MEMORY = "out of memory"


@dataclass(frozen=True)
class Measurement:
    """A row of bench.csv; rates count every member (trial-steps and samples of all E)."""

    config: str
    device: str
    threads: int
    ensemble: int
    batch_size: int
    trial_steps_per_s: float
    samples_per_s: float
    #: CUDA's peak of allocated tensors; NaN on the CPU, whose resident set size would mix in
    #: the allocator's and the interpreter's memory and earlier measurements' peaks
    peak_memory_mb: float
    stacks: bool
    note: str


@dataclass
class Ensemble:
    spec: TrialSpec
    seeds: list[int]
    #: each member's parts: its dataset, loss and penalty
    members: list[TrialParts]
    networks: GanParts | VaeParts

    @property
    def first(self) -> TrialParts:
        return self.members[0]


def build_ensemble(spec: TrialSpec, members: int, device: torch.device) -> Ensemble:
    """``members`` trials of ``spec`` with seeds ``spec.seed`` and the next ones, stacked as the
    runner stacks them."""
    seeds = list(range(spec.seed, spec.seed + members))
    parts = [build_member(spec.model_copy(update={"seed": seed}), device) for seed in seeds]
    networks = stack_networks([member.networks for member in parts])
    return Ensemble(spec, seeds, parts, networks)


def training_step(ensemble: Ensemble, device: torch.device) -> TrainingStep:
    builder = import_object(STEP_BUILDERS[type(ensemble.first.networks)])
    return builder(ensemble.spec, ensemble.seeds, ensemble.members, ensemble.networks, device)


def device_seconds(run: Callable[[], object], device: torch.device) -> float:
    """Seconds of the device work ``run`` queues: CUDA events on a GPU (read once the GPU has
    done the work; the host's clock would time the queueing), perf_counter on the CPU."""
    clock = TrainingClock(device)
    clock.start(0)
    run()
    return clock.seconds()


class CountedStep:
    """A step function that counts its calls: the loop stops early once every member diverged."""

    def __init__(self, step: TrainingStep) -> None:
        self.step, self.calls = step.step, 0

    def __call__(self) -> torch.Tensor:
        self.calls += 1
        return self.step()


def training_rate(ensemble: Ensemble, plan: BenchPlan, device: torch.device) -> tuple[float, bool]:
    """Trial-steps/s (E x steps / seconds) through the shared step loop after an untimed warm-up,
    and whether a member diverged while timed."""
    step = training_step(ensemble, device)
    for _ in range(plan.warmup_steps):
        step.step()
    counted = CountedStep(step)
    members = len(ensemble.seeds)
    # with no evaluation steps the loop yields only divergences
    events: list[object] = []
    seconds = device_seconds(
        lambda: events.extend(train_steps(counted, step.signals, members, plan.steps, set(), device)), device
    )
    return members * counted.calls / seconds, bool(events)


def sampling_rate(ensemble: Ensemble, plan: BenchPlan, device: torch.device) -> float:
    """Samples/s of the stacked generator drawing ``plan.samples`` per member, as evaluation
    draws them (``generate``): the fastest of ``SAMPLING_REPEATS`` draws after an untimed one."""
    first = ensemble.first
    latents = MemberStreams.seeded(device, ensemble.seeds, EVAL_STREAM).draw(
        lambda rng: first.networks.latents(plan.samples, rng)
    )
    shape = tuple(first.dataset.shape)
    generate(ensemble.networks, latents, shape)
    seconds = min(
        device_seconds(lambda: generate(ensemble.networks, latents, shape), device)
        for _ in range(SAMPLING_REPEATS)
    )
    return latents.shape[0] * latents.shape[1] / seconds


def measure(
    config: Configuration, members: int, batch_size: int, plan: BenchPlan, device: torch.device
) -> Measurement:
    """Train and sample an ensemble of ``members`` of ``config`` at ``batch_size``."""
    spec = config.spec.model_copy(
        update={"train": config.spec.train.model_copy(update={"batch_size": batch_size})}
    )
    row = {
        "config": config.label,
        "device": environment(device)["device"],
        "threads": torch.get_num_threads(),
        "ensemble": members,
        "batch_size": batch_size,
        "stacks": config.stacks,
    }
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    notes = [] if config.stacks else [NOTE_ALONE]
    try:
        ensemble = build_ensemble(spec, members, device)
        trial_steps, diverged = NOT_MEASURED, False
        if spec.trains:
            trial_steps, diverged = training_rate(ensemble, plan, device)
        else:
            notes.append(NOTE_NO_TRAINING)
        samples = sampling_rate(ensemble, plan, device)
    except torch.OutOfMemoryError:
        return Measurement(
            **row,
            trial_steps_per_s=NOT_MEASURED,
            samples_per_s=NOT_MEASURED,
            peak_memory_mb=NOT_MEASURED,
            note="; ".join([*notes, NOTE_OUT_OF_MEMORY]),
        )
    if diverged:
        notes.append(NOTE_DIVERGED)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else NOT_MEASURED
    return Measurement(
        **row,
        trial_steps_per_s=trial_steps,
        samples_per_s=samples,
        peak_memory_mb=peak,
        note="; ".join(notes),
    )
