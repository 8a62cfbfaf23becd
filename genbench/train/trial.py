"""Run one trial end to end: build its parts, train (or only evaluate) and collect the record.

Randomness is split into independent, seeded streams (initial weights, training data, training
latents, evaluation latents, the reference set), so the same trial gives the same numbers on the
CPU, and the reference set depends only on the dataset: every trial of a suite is evaluated
against the same real samples.
"""

from __future__ import annotations

import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
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
)
from genbench.models.checkpoint import checkpoint_bytes, networks_of
from genbench.models.parts import GanParts, VaeParts
from genbench.records import CurvePoint, ModeSet, TrialRecord, TrialStatus
from genbench.registry import import_object
from genbench.spec import Trial
from genbench.train.build import TrialParts, build_trial_parts
from genbench.train.evaluation import Evaluation, evaluate, evaluation_steps
from genbench.train.loop import Divergence
from genbench.train.streams import EVAL_STREAM, REFERENCE_SEED, seeded

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
    """Train and evaluate ``trial``; raises on a failure (the runner records it), returns a
    record with status ``diverged`` when the losses or samples stop being finite."""
    started_at = utc_now()
    spec = trial.spec
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    torch.manual_seed(spec.seed)
    parts = build_trial_parts(spec)
    for module in networks_of(parts.networks).values():
        module.to(device)

    reference_count = spec.train.reference_samples or spec.train.eval_samples
    # held-out data where the dataset has a split (images), fresh draws where it is generated
    draw_reference = getattr(parts.dataset, "reference", parts.dataset.sample)
    reference = draw_reference(reference_count, seeded(device, REFERENCE_SEED))
    eval_latents = parts.networks.latents(spec.train.eval_samples, seeded(device, spec.seed + EVAL_STREAM))
    schedule = evaluation_steps(spec.train.steps, spec.train.eval_every)

    def evaluate_now(step: int) -> Evaluation:
        return evaluate(
            step, parts.networks, parts.dataset, parts.metrics, eval_latents, reference, spec.train.batch_size
        )

    curves: list[CurvePoint] = []
    mode_sets: list[ModeSet] = []
    #: only the latest evaluation is kept: its samples can be large (26,000 images on stacked digits)
    latest: Evaluation | None = None
    eval_seconds = 0.0
    diverged_step = None
    train_started = time.perf_counter()
    for event in training_events(trial, parts, device, set(schedule), progress):
        if isinstance(event, Divergence):
            diverged_step = event.step
            break
        step, window_values = event
        eval_started = time.perf_counter()
        evaluation = evaluate_now(step)
        eval_seconds += time.perf_counter() - eval_started
        if not evaluation.finite:
            if not spec.trains:
                raise GenbenchError("the generator returned non-finite samples (NaN or Inf)")
            diverged_step = step
            break
        latest = evaluation
        for metric, value in {**window_values, **evaluation.signals, **evaluation.values}.items():
            curves.append(CurvePoint(step=step, metric=metric, value=value))
        if evaluation.covered_modes is not None:
            mode_sets.append(ModeSet(step=step, modes=evaluation.covered_modes))
    train_seconds = time.perf_counter() - train_started - eval_seconds

    last = latest if diverged_step is None else None
    timings = {
        KEY_TRAIN_SECONDS: train_seconds,
        KEY_EVAL_SECONDS: eval_seconds,
        KEY_PEAK_MEMORY_MB: peak_memory_mb(device),
    }
    if spec.trains and diverged_step is None and train_seconds > 0:
        # real samples the model consumed: a GAN's discriminator reads a batch per d_step
        updates_per_step = spec.train.d_steps if isinstance(parts.networks, GanParts) else 1
        consumed = spec.train.steps * updates_per_step * spec.train.batch_size
        timings[KEY_SAMPLES_PER_SECOND] = consumed / train_seconds
    reference_protocol = {
        "eval_samples": spec.train.eval_samples,
        "reference_samples": int(reference.shape[0]),
        "reference": {"dataset": spec.dataset.model_dump(mode="json"), "seed": REFERENCE_SEED},
    }
    record = TrialRecord(
        id=trial.id,
        suite=suite_name,
        status=TrialStatus.DIVERGED if diverged_step is not None else TrialStatus.FINISHED,
        spec=spec.model_dump(mode="json"),
        grid=trial.grid,
        grid_columns=trial.grid_columns,
        metrics=last.values if last else {},
        protocols=metric_protocols(parts, last, reference_protocol),
        diverged_step=diverged_step,
        timings=timings,
        environment=environment(device),
        covered_modes=mode_sets,
        started_at=started_at,
        finished_at=utc_now(),
    )
    centres = getattr(parts.dataset, "mode_centres", None)
    return TrialOutcome(
        record=record,
        curves=curves,
        samples=last.samples[:SAVED_SAMPLES].cpu().numpy() if last else None,
        mode_centres=centres.cpu().numpy() if centres is not None else None,
        checkpoint=checkpoint_bytes(
            parts.networks, spec.model.model_dump(mode="json"), tuple(parts.dataset.shape)
        )
        if spec.trains and diverged_step is None
        else None,
    )


def run_trials(
    trials: Sequence[Trial], suite_name: str, device: torch.device, progress: TrialsProgress | None = None
) -> list[TrialOutcome]:
    """Train and evaluate ``trials`` together as one vectorized ensemble (PROVISIONAL: one by one
    until the ensemble lands); outcomes in the order of ``trials``."""
    outcomes = []
    for trial in trials:
        callback = (lambda done, total, tid=trial.id: progress(tid, done, total)) if progress else None
        outcomes.append(run_trial(trial, suite_name, device, callback))
    return outcomes


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


#: the training loop of each kind of built model, imported when a trial of that kind trains; each
#: has the signature of ``genbench.train.gan.gan_training_events``
TRAINERS = {
    GanParts: "genbench.train.gan:gan_training_events",
    VaeParts: "genbench.train.vae:vae_training_events",
}


def training_events(
    trial: Trial,
    parts: TrialParts,
    device: torch.device,
    schedule: set[int],
    progress: ProgressCallback | None,
) -> Iterator[tuple[int, dict[str, float]] | Divergence]:
    """(step, window signals) at each evaluation step, or a Divergence; step 0 only evaluates."""
    spec = trial.spec
    if not spec.trains:
        yield 0, {}
        return
    target = TRAINERS.get(type(parts.networks))
    if target is None:
        raise GenbenchError(f"no training loop for models of kind {type(parts.networks).__name__}")

    def on_progress(step: int) -> None:
        if progress is not None:
            progress(step, spec.train.steps)

    yield from import_object(target)(spec, parts, device, schedule, on_progress)
