"""Evaluation of a generator on a schedule: samples, metrics and the discriminator's view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from genbench.errors import GenbenchError
from genbench.losses.penalties import input_gradient_norms
from genbench.metrics.base import Metric
from genbench.metrics.keys import KEY_D_INPUT_GRAD_NORM_FAKE, KEY_D_INPUT_GRAD_NORM_REAL
from genbench.models.parts import GanParts

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
def generate(networks: GanParts, latents: torch.Tensor, data_shape: tuple[int, ...]) -> torch.Tensor:
    """Samples for ``latents``, checked against the dataset so a wrong generator fails clearly."""
    was_training = networks.generator.training
    networks.generator.eval()
    try:
        samples = torch.cat([networks.generator(chunk) for chunk in latents.split(GENERATION_BATCH)])
    finally:
        networks.generator.train(was_training)
    expected = (latents.shape[0], *data_shape)
    if tuple(samples.shape) != expected:
        raise GenbenchError(
            f"the generator returned samples of shape {tuple(samples.shape)}; the dataset needs {expected}"
        )
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
) -> dict[str, float]:
    """Mean ||grad_x D(x)|| on real and on fake samples: a sharp discriminator (large norms) is
    the classic precursor of vanishing or exploding generator gradients."""
    was_training = discriminator.training
    discriminator.eval()
    try:
        real_norm = input_gradient_norms(discriminator, real.detach().requires_grad_(True)).mean()
        fake_norm = input_gradient_norms(discriminator, fake.detach().requires_grad_(True)).mean()
    finally:
        discriminator.train(was_training)
    return {KEY_D_INPUT_GRAD_NORM_REAL: float(real_norm), KEY_D_INPUT_GRAD_NORM_FAKE: float(fake_norm)}


def evaluate(
    step: int,
    networks: GanParts,
    dataset: Any,
    metrics: dict[str, Metric],
    latents: torch.Tensor,
    reference: torch.Tensor,
    probe_batch: int,
) -> Evaluation:
    """Generate ``latents``' samples and compute every metric against ``reference``.

    The discriminator is probed on ``probe_batch`` samples of each kind (the training batch size,
    which PacGAN's packing divides), and only when both sets are that large.
    """
    samples = generate(networks, latents, tuple(dataset.shape))
    if not torch.isfinite(samples).all():
        return Evaluation(step=step, values={}, covered_modes=None, samples=samples, finite=False)
    values: dict[str, float] = {}
    keys_by_metric: dict[str, list[str]] = {}
    covered_modes = None
    for name, metric in metrics.items():
        if not getattr(metric, "applies_to", lambda _: True)(networks):
            continue
        if getattr(metric, "uses_networks", False):
            result = metric(samples, reference, dataset, networks=networks)
        else:
            result = metric(samples, reference, dataset)
        values.update(result.values)
        keys_by_metric[name] = list(result.values)
        covered_modes = result.covered_modes if result.covered_modes is not None else covered_modes
    signals = {}
    if networks.discriminator is not None and min(len(samples), len(reference)) >= probe_batch:
        signals = discriminator_input_gradients(
            networks.discriminator, reference[:probe_batch], samples[:probe_batch]
        )
    return Evaluation(
        step=step,
        values=values,
        covered_modes=covered_modes,
        samples=samples,
        keys_by_metric=keys_by_metric,
        signals=signals,
    )
