"""Evaluation of generators on a schedule: samples, metrics and the discriminator's view.

An ensemble is evaluated at once: its stacked generator draws every member's samples in one pass
([E, N, ...]), metrics take all members' samples together where they can (``evaluate_members``),
and the stacked discriminator is probed once for all members. Each member gets its own Evaluation.
A model may also offer state probes (``GanParts.probes``), named scalars read from a trial's own
networks (the Dirac-GAN's theta and psi), recorded as final values and curves beside the metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from genbench.errors import GenbenchError
from genbench.losses.penalties import input_gradient_norms
from genbench.metrics.base import Metric, MetricResult, evaluate_members
from genbench.metrics.keys import KEY_D_INPUT_GRAD_NORM_FAKE, KEY_D_INPUT_GRAD_NORM_REAL
from genbench.models.checkpoint import networks_of
from genbench.models.parts import GanParts, VaeParts

GENERATION_BATCH = 4096
IMAGE_DIMS = 3  # (C, H, W)
#: slack for float error at the ends of [-1, 1]
RANGE_TOLERANCE = 1e-3


def evaluation_steps(steps: int, eval_every: int) -> list[int]:
    """Steps after which to evaluate: every ``eval_every`` generator updates and at the end."""
    if steps == 0:
        return [0]
    scheduled = list(range(eval_every, steps + 1, eval_every)) if eval_every else []
    return scheduled if scheduled and scheduled[-1] == steps else [*scheduled, steps]


@dataclass
class Evaluation:
    step: int
    values: dict[str, float]
    covered_modes: list[int] | None
    samples: torch.Tensor = field(repr=False)
    #: False when the generator produced NaN/Inf: no metric is computed, the trial has diverged
    finite: bool = True
    #: metric name -> the result keys it produced, so each value can carry its metric's protocol
    keys_by_metric: dict[str, list[str]] = field(default_factory=dict)
    #: stability signals measured at the evaluation (the discriminator's input gradients)
    signals: dict[str, float] = field(default_factory=dict)


@torch.no_grad()
def generate(
    networks: GanParts | VaeParts, latents: torch.Tensor, data_shape: tuple[int, ...]
) -> torch.Tensor:
    """Samples for ``latents`` [..., N, latent] (leading dims: an ensemble's members), checked
    against the dataset so a wrong generator fails clearly."""
    sample_dim = latents.dim() - 2
    was_training = networks.generator.training
    networks.generator.eval()
    try:
        # GENERATION_BATCH samples per pass in all, shared by the members
        members = latents.shape[:sample_dim].numel()
        chunks = latents.split(max(1, GENERATION_BATCH // members), dim=sample_dim)
        samples = torch.cat([networks.generator(chunk) for chunk in chunks], dim=sample_dim)
    finally:
        networks.generator.train(was_training)
    expected = (*latents.shape[:-1], *data_shape)
    if tuple(samples.shape) != expected:
        # shapes as for one trial: an ensemble's member dimension is not the user's concern
        got, needed = tuple(samples.shape[sample_dim:]), expected[sample_dim:]
        raise GenbenchError(f"the generator returned samples of shape {got}; the dataset needs {needed}")
    if len(data_shape) == IMAGE_DIMS:
        check_image_range(samples)
    return samples.float()


def check_image_range(samples: torch.Tensor) -> None:
    """Images must be in [-1, 1], genbench's convention (metrics map it to uint8 as
    (x + 1) * 127.5): a generator trained on [0, 1] or [0, 255] data would otherwise be clamped
    silently and scored on the wrong images. Non-finite samples are left to the caller."""
    finite = samples[torch.isfinite(samples)]
    if finite.numel() == 0:
        return
    low, high = float(finite.min()), float(finite.max())
    if low < -1 - RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise GenbenchError(
            f"the generator's images lie in [{low:.3g}, {high:.3g}]; genbench expects [-1, 1] "
            "(e.g. a tanh output, or x * 2 - 1 for a generator of [0, 1] images)"
        )


def discriminator_input_gradients(
    discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor
) -> list[dict[str, float]]:
    """Per member, mean ||grad_x D(x)|| on real and on fake samples ([E, batch, ...] each): a sharp
    discriminator (large norms) is the classic precursor of vanishing or exploding generator
    gradients."""
    was_training = discriminator.training
    discriminator.eval()
    try:
        real_norms = input_gradient_norms(discriminator, real.detach().requires_grad_(True)).mean(-1)
        fake_norms = input_gradient_norms(discriminator, fake.detach().requires_grad_(True)).mean(-1)
    finally:
        discriminator.train(was_training)
    return [
        {KEY_D_INPUT_GRAD_NORM_REAL: real_norm, KEY_D_INPUT_GRAD_NORM_FAKE: fake_norm}
        for real_norm, fake_norm in zip(real_norms.tolist(), fake_norms.tolist(), strict=True)
    ]


@dataclass
class DataGroup:
    """Members of an ensemble that train on one dataset: scored together against its reference."""

    dataset: Any
    reference: torch.Tensor
    #: indices into the ensemble
    members: list[int]


def evaluate_ensemble(
    step: int,
    networks: GanParts | VaeParts,
    member_networks: Sequence[GanParts | VaeParts],
    members: Sequence[int],
    groups: Sequence[DataGroup],
    metrics: dict[str, Metric],
    latents: torch.Tensor,
    probe_batch: int,
) -> dict[int, Evaluation]:
    """Evaluate ``members`` (indices into the ensemble) of the stacked ``networks``: generate from
    ``latents`` [E, N, latent] in one pass, then compute every metric for each data group's
    members at once, against the group's reference.

    ``member_networks`` are the members' own networks: a metric of the model itself
    (``uses_networks``) is given them, with the member's current weights copied in. The
    discriminator is probed on ``probe_batch`` samples of each kind (the training batch size, which
    PacGAN's packing divides), and only when both sets are that large.
    """
    samples = generate(networks, latents, tuple(groups[0].dataset.shape))
    finite = torch.isfinite(samples.flatten(1)).all(dim=1).tolist()
    results: dict[int, dict[str, MetricResult]] = {}
    for group in groups:
        scored = [member for member in group.members if member in members and finite[member]]
        if scored:
            results.update(group_results(group, scored, samples, networks, member_networks, metrics))
    signals = probe_signals(networks, groups, samples, probe_batch) if results else {}
    probes = {member: state_probes(networks, member, member_networks[member]) for member in results}
    return {
        member: member_evaluation(
            step, samples[member], results.get(member), signals.get(member, {}), probes.get(member, {})
        )
        for member in members
    }


def group_results(
    group: DataGroup,
    scored: list[int],
    samples: torch.Tensor,
    networks: GanParts | VaeParts,
    member_networks: Sequence[GanParts | VaeParts],
    metrics: dict[str, Metric],
) -> dict[int, dict[str, MetricResult]]:
    """Every metric of the ``scored`` members of one data group."""
    results: dict[int, dict[str, MetricResult]] = {member: {} for member in scored}
    # one tensor for every metric: feature extraction recognises samples it has seen by identity
    scored_samples = samples[scored]
    for name, metric in metrics.items():
        if not getattr(metric, "applies_to", lambda _: True)(member_networks[scored[0]]):
            continue
        if getattr(metric, "uses_networks", False):
            for member in scored:
                own = member_networks[member]
                copy_member(networks, member, own)
                results[member][name] = metric(samples[member], group.reference, group.dataset, networks=own)
        else:
            member_results = evaluate_members(metric, scored_samples, group.reference, group.dataset)
            for member, result in zip(scored, member_results, strict=True):
                results[member][name] = result
    return results


def probe_signals(
    networks: GanParts | VaeParts, groups: Sequence[DataGroup], samples: torch.Tensor, probe_batch: int
) -> dict[int, dict[str, float]]:
    """The discriminator's input gradients of every member, from one pass of the stacked critic
    over each member's own real probe (its group's reference) and fake probe."""
    if networks.discriminator is None or samples.shape[1] < probe_batch:
        return {}
    if any(len(group.reference) < probe_batch for group in groups):
        return {}
    real_of = {member: group.reference[:probe_batch] for group in groups for member in group.members}
    real_probe = torch.stack([real_of[member] for member in range(samples.shape[0])])
    probes = discriminator_input_gradients(networks.discriminator, real_probe, samples[:, :probe_batch])
    return dict(enumerate(probes))


def state_probes(networks: GanParts | VaeParts, member: int, own: GanParts | VaeParts) -> dict[str, float]:
    """Member ``member``'s state probes (``GanParts.probes``: the Dirac-GAN's theta and psi), read
    from its own networks with its current weights copied in, so a probe is written for one trial's
    networks whatever the ensemble's member modules; {} for a model without probes."""
    probes = getattr(own, "probes", None)
    if probes is None:
        return {}
    copy_member(networks, member, own)
    with torch.no_grad():
        return {key: float(value.detach()) for key, value in probes(own).items()}


def member_evaluation(
    step: int,
    samples: torch.Tensor,
    results: dict[str, MetricResult] | None,
    signals: dict[str, float],
    probes: dict[str, float],
) -> Evaluation:
    """One member's Evaluation from its metrics' results (None: its samples were not finite) and
    its state probes, which are final values beside the metrics' (and, like them, curves)."""
    if results is None:
        return Evaluation(step=step, values={}, covered_modes=None, samples=samples, finite=False)
    values: dict[str, float] = {}
    covered_modes = None
    for result in results.values():
        values.update(result.values)
        covered_modes = result.covered_modes if result.covered_modes is not None else covered_modes
    values.update(probes)
    return Evaluation(
        step=step,
        values=values,
        covered_modes=covered_modes,
        samples=samples,
        keys_by_metric={name: list(result.values) for name, result in results.items()},
        signals=signals,
    )


def copy_member(networks: GanParts | VaeParts, member: int, into: GanParts | VaeParts) -> None:
    """Copy member ``member``'s current weights from the stacked ``networks`` into its own."""
    own = networks_of(into)
    for name, module in networks_of(networks).items():
        if module.size > 1:
            module.write_member(member, own[name])
