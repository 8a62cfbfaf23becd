"""Each GAN loss and penalty against values computed by hand from its formula."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from genbench.catalog import LOSSES
from genbench.losses.gan import (
    HingeLoss,
    LeastSquaresLoss,
    MinimaxLoss,
    NonSaturatingLoss,
    WassersteinClipLoss,
    WassersteinGradientPenaltyLoss,
)
from genbench.losses.penalties import GradientPenalty, R1Penalty, WeightClipping
from genbench.models.stacking import stack_members
from genbench.train.streams import MemberStreams

from .components import built

REAL = [1.0, -2.0]
FAKE = [0.5, 3.0]


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


EXPECTED = {
    # loss: (discriminator loss, generator loss) on REAL, FAKE logits
    "ns": (
        mean(-math.log(sigmoid(r)) for r in REAL) + mean(-math.log(1 - sigmoid(f)) for f in FAKE),
        mean(-math.log(sigmoid(f)) for f in FAKE),
    ),
    "minimax": (
        mean(-math.log(sigmoid(r)) for r in REAL) + mean(-math.log(1 - sigmoid(f)) for f in FAKE),
        mean(math.log(1 - sigmoid(f)) for f in FAKE),
    ),
    "wgan": (mean(FAKE) - mean(REAL), -mean(FAKE)),
    "wgan-gp": (2.25, -1.75),
    "hinge": (mean([0.0, 3.0]) + mean([1.5, 4.0]), -1.75),
    "lsgan": (0.5 * mean([0.0, 9.0]) + 0.5 * mean([0.25, 9.0]), 0.5 * mean([0.25, 4.0])),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_loss_values_match_hand_computation(name):
    loss = built(LOSSES, name)
    real, fake = torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)
    expected_d, expected_g = EXPECTED[name]
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-12)
    assert loss.generator_loss(fake, real).item() == pytest.approx(expected_g, rel=1e-12)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_no_built_in_generator_loss_reads_the_real_logits(name):
    loss = built(LOSSES, name)
    fake = torch.tensor(FAKE, dtype=torch.float64)
    assert not loss.generator_needs_real_logits
    assert torch.equal(loss.generator_loss(fake, None), loss.generator_loss(fake, torch.tensor(REAL)))


def linear_critic(weights: list[float]) -> nn.Module:
    """D(x) = w . x: its input gradient is w everywhere, so penalties have closed forms."""
    critic = nn.Linear(len(weights), 1, bias=False).double()
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([weights]))
    return nn.Sequential(critic, nn.Flatten(0))


def penalty_of(penalty, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, seed: int = 0) -> float:
    """A penalty as the step computes it: a trial alone is an ensemble of one member, whose
    penalty stream is seeded with ``seed``."""
    noise = MemberStreams([torch.Generator().manual_seed(seed)])
    value = penalty(stack_members([critic]), real.unsqueeze(0), fake.unsqueeze(0), noise)
    assert value.shape == (1,)
    return value.item()


def test_gradient_penalty_of_a_linear_critic_is_weight_times_squared_norm_gap():
    critic = linear_critic([3.0, 4.0])  # ||w|| = 5
    real, fake = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    penalty = penalty_of(GradientPenalty(weight=10.0), critic, real, fake)
    assert penalty == pytest.approx(10.0 * (5.0 - 1.0) ** 2)


def test_gradient_penalty_is_taken_at_interpolates_of_real_and_fake():
    class Quadratic(nn.Module):
        def forward(self, x):
            return (x**2).sum(dim=1)  # ||grad|| = 2 ||x||

    # real at 0 and fake at 1 (one coordinate): the interpolate is 1 - mix, mix ~ U(0, 1)
    real, fake = torch.zeros(4, 1, dtype=torch.float64), torch.ones(4, 1, dtype=torch.float64)
    penalty = penalty_of(GradientPenalty(weight=1.0), Quadratic(), real, fake, seed=7)
    mix = torch.rand(4, 1, generator=torch.Generator().manual_seed(7)).double()  # the penalty stream
    assert penalty == pytest.approx(((2 * (1 - mix) - 1) ** 2).mean().item())


def test_wgan_gp_is_the_wasserstein_loss_with_its_gradient_penalty_as_a_term():
    loss = WassersteinGradientPenaltyLoss(gp_weight=3.0)
    (term,) = loss.discriminator_terms
    assert isinstance(term, GradientPenalty) and term.weight == 3.0
    assert loss.after_discriminator_update == ()


def test_r1_penalty_of_a_linear_critic_is_half_gamma_squared_norm():
    critic = linear_critic([3.0, 4.0])
    real = torch.randn(16, 2, dtype=torch.float64)
    assert penalty_of(R1Penalty(gamma=10.0), critic, real, real) == pytest.approx(0.5 * 10.0 * 25.0)


def test_r1_penalty_uses_real_samples_only():
    class Quadratic(nn.Module):
        def forward(self, x):
            return (x**2).sum(dim=1)  # grad = 2x, ||grad||^2 = 4 ||x||^2

    real = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    fake = torch.full((2, 2), 100.0, dtype=torch.float64)
    expected = 0.5 * 2.0 * mean([4 * 1.0, 4 * 4.0])
    assert penalty_of(R1Penalty(gamma=2.0), Quadratic(), real, fake) == pytest.approx(expected)


def test_penalties_are_differentiable_in_the_critic_weights():
    critic = linear_critic([3.0, 4.0])
    real = torch.randn(8, 2, dtype=torch.float64)
    noise = MemberStreams([torch.Generator()])
    R1Penalty(gamma=1.0)(
        stack_members([critic]), real.unsqueeze(0), real.unsqueeze(0), noise
    ).sum().backward()
    # d/dw of 0.5 * ||w||^2 is w
    assert torch.allclose(critic[0].weight.grad, torch.tensor([[3.0, 4.0]], dtype=torch.float64))


def test_weight_clipping_bounds_every_critic_parameter():
    critic = nn.Sequential(nn.Linear(2, 8), nn.Linear(8, 1))
    with torch.no_grad():
        for parameter in critic.parameters():
            parameter.mul_(100)
    WeightClipping(clip=0.01)(critic)
    assert all(parameter.abs().max() <= 0.01 for parameter in critic.parameters())


def test_wgan_is_the_wasserstein_loss_with_clipping_after_each_critic_update():
    loss = WassersteinClipLoss(clip=0.5)
    (hook,) = loss.after_discriminator_update
    assert isinstance(hook, WeightClipping) and hook.clip == 0.5
    assert loss.discriminator_terms == ()


@pytest.mark.parametrize("loss_class", [NonSaturatingLoss, MinimaxLoss, HingeLoss, LeastSquaresLoss])
def test_losses_that_need_no_network_come_with_no_regularizers(loss_class):
    loss = loss_class()
    assert loss.discriminator_terms == () and loss.after_discriminator_update == ()
