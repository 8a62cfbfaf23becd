"""Cross-checks of a suite's trials against the registries and this machine, before anything trains.

Each setting may be valid alone and the trial still impossible: a GAN loss on a VAE, two metrics
that write the same key, a remedy that cannot work in the trial (DiffAugment on 2-D points), a
report that names a key the grid lacks or ranks by a metric without a better direction, more
evaluations than a study could want, or samples that cannot fit in memory.
Each check raises a ``SuiteProblem`` at the trial path to change; the loader names the file's line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from genbench.catalog import DATASETS, LOSSES, METRICS, MODELS, OUTPUTS, REMEDIES
from genbench.registry import Direction, Registry, is_user_reference
from genbench.settings import ReportSettings, physical_memory_bytes, short
from genbench.spec import ComponentSpec, TrainSpec, TrialSpec
from genbench.suite.paths import Path_, SuiteProblem, dotted

#: evaluations one trial may schedule, each a row of curves per metric in memory and on disk: a
#: million steps evaluated every 100 is 10,000; a typo in ``steps`` is billions
MAX_EVALUATIONS = 10_000
FLOAT32_BYTES = 4


def check_report_keys(report: ReportSettings, grid_keys: list[str]) -> None:
    """Report settings name grid keys; check them now rather than after hours of training."""
    named = {"heatmap": list(report.heatmap or ()), "group_by": list(report.group_by or ())}
    for setting, keys in named.items():
        for index, key in enumerate(keys):
            # a flattened column of a mapping grid value (optimizer.name) counts as its key
            if not any(key == grid_key or key.startswith(f"{grid_key}.") for grid_key in grid_keys):
                raise SuiteProblem(
                    ("report", setting, index),
                    f"'{short(key)}' is not a grid key; grid keys: "
                    + short(", ".join(grid_keys) or "(no grid)"),
                )


def check_report_metrics(report: ReportSettings) -> None:
    """The report ranks groups by its headline metric and trials by the success criterion's, and
    tests the ``compare`` metrics, so none may be a key declared without a better direction; a
    success or compared metric must also be a key that trials record (a metric's, a model's state
    probe's such as the Dirac-GAN's equilibrium_distance, or a timing), else no trial could have it.
    A headline that no trial records is left to the report, which falls back to another metric and
    says so."""
    ranked = ", ".join(key for key, output in OUTPUTS.items() if output.direction is not Direction.NONE)
    # the metrics that some trial must record: all named ones but the headline
    recorded: dict[Path_, str] = {
        ("report", "compare", index): metric for index, metric in enumerate(report.compare)
    }
    if report.success is not None:
        recorded[("report", "success", "metric")] = report.success.metric
    for path, metric in {("report", "metric"): report.metric, **recorded}.items():
        if metric in OUTPUTS and OUTPUTS[metric].direction is Direction.NONE:
            raise SuiteProblem(path, f"'{metric}' has no better direction; choose one of: {ranked}")
    for path, metric in recorded.items():
        if metric not in OUTPUTS:
            raise SuiteProblem(
                path, f"'{short(metric)}' is not a result key of any metric; choose one of: {ranked}"
            )


def check_family(model: ComponentSpec, loss: ComponentSpec) -> None:
    """A GAN loss cannot train a VAE, nor a VAE objective a GAN."""
    if is_user_reference(model.name) or is_user_reference(loss.name):
        return
    model_family, loss_family = MODELS.get(model.name).family, LOSSES.get(loss.name).family
    if model_family and loss_family and model_family != loss_family:
        allowed = ", ".join(LOSSES.names_of_family(model_family))
        raise SuiteProblem(
            ("loss",),
            f"'{loss.name}' is a {loss_family.upper()} objective but model '{model.name}' is a "
            f"{model_family.upper()}; allowed: {allowed}",
        )


def check_remedies(spec: TrialSpec) -> None:
    """Remedies change GAN training: refuse them on a VAE or a trial that does not train, each
    remedy named twice (it would apply twice, or two settings would fight), and what a remedy
    itself says cannot work in this trial (``RemedyParams.trial_problem``)."""
    if not spec.remedies:
        return
    family = None if is_user_reference(spec.model.name) else MODELS.get(spec.model.name).family
    if family is not None and family != "gan":
        raise SuiteProblem(
            ("remedies",),
            f"remedies change GAN training, but model '{spec.model.name}' is a {family.upper()}; remove them",
        )
    if not spec.trains:
        raise SuiteProblem(
            ("remedies",), "remedies change training, and this trial does not train (steps: 0)"
        )
    data = registry_params(DATASETS, spec.dataset)
    sample_shape = tuple(data.sample_shape()) if data is not None else None
    named: dict[str, int] = {}
    for index, remedy in enumerate(spec.remedies):
        if remedy.name in named:
            raise SuiteProblem(
                ("remedies", index),
                f"remedy '{remedy.name}' is named twice (also at [{named[remedy.name]}]); name each once",
            )
        named[remedy.name] = index
        params = registry_params(REMEDIES, remedy)
        problem = params.trial_problem(spec, sample_shape) if params is not None else None
        if problem is not None:
            raise SuiteProblem(("remedies", index), problem)


def check_metric_outputs(metrics: tuple[ComponentSpec, ...]) -> None:
    """Two metrics that write the same key would overwrite each other's values in the record."""
    written: dict[str, str] = {}
    for index, metric in enumerate(metrics):
        outputs = () if is_user_reference(metric.name) else METRICS.get(metric.name).outputs
        for key in (output.key for output in outputs):
            if key in written:
                raise SuiteProblem(
                    ("metrics", index),
                    f"metrics '{written[key]}' and '{metric.name}' both write '{key}'; keep one",
                )
            written[key] = metric.name


def check_evaluations(train: TrainSpec) -> None:
    """A huge ``steps`` trains in constant memory, but each evaluation keeps a row of curves:
    refuse a schedule of more evaluations than a study could want."""
    if train.eval_every == 0:
        return
    evaluations = -(-train.steps // train.eval_every)
    if evaluations > MAX_EVALUATIONS:
        raise SuiteProblem(
            ("train", "steps"),
            f"{train.steps:,} steps with an evaluation every {train.eval_every:,} make "
            f"{evaluations:,} evaluations, more than {MAX_EVALUATIONS:,}; lower train.steps or "
            "raise train.eval_every",
        )


def check_batch(spec: TrialSpec) -> None:
    """The model's discriminator must take the training batch (PacGAN's packs, minibatch-std's
    groups divide it)."""
    model = registry_params(MODELS, spec.model)
    problem = model.batch_problem(spec.train.batch_size) if model is not None and spec.trains else None
    if problem is not None:
        raise SuiteProblem(("train", "batch_size"), problem)


def check_memory(spec: TrialSpec) -> None:
    """Refuse a trial whose batches or evaluations cannot fit in this machine's memory on any
    device: it would fail with an empty MemoryError, or its worker be killed by the system."""
    available = physical_memory_bytes()
    if available is None:
        return
    held, passing = memory_needs(spec)
    total = sum(need.bytes for need in held) + max((need.bytes for need in passing), default=0)
    if total <= available:
        return
    largest = max([*held, *passing], key=lambda need: need.bytes)
    raise SuiteProblem(
        largest.key,
        f"this trial needs at least {byte_size(total)} of memory, most of it for {largest.what}: "
        f"more than this machine's {byte_size(available)}; lower {dotted(largest.key)}",
    )


@dataclass(frozen=True)
class MemoryNeed:
    """Part of a trial's memory: the setting it grows with, a lower bound in bytes, and what it is."""

    key: Path_
    bytes: int
    what: str


def memory_needs(spec: TrialSpec) -> tuple[list[MemoryNeed], list[MemoryNeed]]:
    """What a trial holds through its evaluations (the generated and reference samples), and what
    a training step or one metric works in for a while; lower bounds from the spec alone, with
    nothing loaded, so an estimate above the machine's memory means the trial cannot run.

    User components (``module:factory``) count as the smallest possible: one value per sample.
    """
    data = registry_params(DATASETS, spec.dataset)
    shape = data.sample_shape() if data is not None else (1,)
    values = math.prod(shape)
    generated = spec.train.eval_samples
    reference_key: Path_ = ("train", "reference_samples" if spec.train.reference_samples else "eval_samples")
    requested = spec.train.reference_samples or generated
    reference = data.reference_count(requested) if data is not None else requested
    modes = data.mode_count() if data is not None else 0
    held = [
        MemoryNeed(
            ("train", "eval_samples"), FLOAT32_BYTES * generated * values, f"{generated:,} generated samples"
        ),
        MemoryNeed(reference_key, FLOAT32_BYTES * reference * values, f"{reference:,} reference samples"),
    ]
    passing = []
    if spec.trains:
        model = registry_params(MODELS, spec.model)
        per_sample = 2 * values + (model.activations_per_sample(shape) if model is not None else 0)
        batch = spec.train.batch_size
        passing.append(
            MemoryNeed(
                ("train", "batch_size"), FLOAT32_BYTES * batch * per_sample, f"batches of {batch:,} samples"
            )
        )
    samples_key = reference_key if reference > generated else ("train", "eval_samples")
    for metric in spec.metrics:
        params = registry_params(METRICS, metric)
        if params is None:
            continue
        passing.append(
            MemoryNeed(
                samples_key,
                params.working_bytes(generated, reference, values, modes),
                f"metric '{metric.name}' on {generated:,} generated and {reference:,} reference samples",
            )
        )
    return held, passing


def registry_params(registry: Registry, component: ComponentSpec) -> Any:
    """The parameter model of a registered component, rebuilt from its resolved parameters without
    validating again (no file is reopened); None for user code."""
    if is_user_reference(component.name):
        return None
    return registry.get(component.name).params_model().model_construct(**component.params)


def byte_size(count: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:,.1f} {unit}" if unit != "B" else f"{count} B"
        size /= 1024
    raise AssertionError("unreachable")
