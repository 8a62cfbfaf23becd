"""RaGAN, RpGAN and the R2 penalty against their formulas, per member, in ensembles and from the CLI."""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from genbench.catalog import LOSSES, PENALTIES
from genbench.errors import GenbenchError
from genbench.losses.gan import RelativisticAverageLoss, RelativisticPairingLoss
from genbench.losses.penalties import R1Penalty, R2Penalty
from genbench.models.stacking import stack_members
from genbench.suite import load_suite
from genbench.train.gan import gan_hooks
from genbench.train.streams import MemberStreams

from .components import built
from .conftest import genbench_process
from .test_dcgan import gan_step, trains
from .test_ensemble_equivalence import assert_same_as_alone, gan_suite
from .test_losses import linear_critic, penalty_of

# two members' logits; RaGAN compares with means, so its real and fake batches may differ in size
REAL = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, -1.0]])
FAKE = np.array([[0.5, 3.0], [-0.2, 2.0]])
# RpGAN pairs real i with fake i
PAIRED_REAL = np.array([[1.0, -2.0], [0.3, 0.0]])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def expected_ragan(preferred: np.ndarray, other: np.ndarray) -> list[float]:
    """-E log sigmoid(a - mean b) - E log(1 - sigmoid(b - mean a)), member by member, by loops."""
    values = []
    for a, b in zip(preferred, other, strict=True):
        mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
        first = sum(-math.log(1 / (1 + math.exp(-(x - mean_b)))) for x in a) / len(a)
        second = sum(-math.log(1 - 1 / (1 + math.exp(-(y - mean_a)))) for y in b) / len(b)
        values.append(first + second)
    return values


def expected_rpgan(preferred: np.ndarray, other: np.ndarray) -> list[float]:
    return [
        sum(softplus(-(x - y)) for x, y in zip(a, b, strict=True)) / len(a)
        for a, b in zip(preferred, other, strict=True)
    ]


def logits(values: np.ndarray) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_ragan_discriminator_and_generator_losses_match_the_formula_per_member():
    loss = built(LOSSES, "ragan")
    real, fake = logits(REAL), logits(FAKE)
    assert loss.discriminator_loss(real, fake).tolist() == pytest.approx(
        expected_ragan(REAL, FAKE), rel=1e-12
    )
    assert loss.generator_loss(fake, real).tolist() == pytest.approx(expected_ragan(FAKE, REAL), rel=1e-12)


def test_rpgan_discriminator_and_generator_losses_match_the_formula_per_member():
    loss = built(LOSSES, "rpgan")
    real, fake = logits(PAIRED_REAL), logits(FAKE)
    assert loss.discriminator_loss(real, fake).tolist() == pytest.approx(
        expected_rpgan(PAIRED_REAL, FAKE), rel=1e-12
    )
    assert loss.generator_loss(fake, real).tolist() == pytest.approx(
        expected_rpgan(FAKE, PAIRED_REAL), rel=1e-12
    )


def test_at_equal_logits_both_relativistic_losses_are_those_of_a_coin_toss():
    zeros = torch.zeros(1, 4, dtype=torch.float64)
    assert RelativisticAverageLoss().discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    assert RelativisticPairingLoss(gamma=1.0).discriminator_loss(zeros, zeros).item() == pytest.approx(
        math.log(2)
    )


def test_rpgan_refuses_real_and_fake_logits_that_do_not_pair():
    with pytest.raises(GenbenchError, match="pairs each real logit with one fake"):
        RelativisticPairingLoss(gamma=1.0).discriminator_loss(logits(REAL), logits(FAKE))


@pytest.mark.parametrize("name", ["ragan", "rpgan"])
def test_relativistic_generator_losses_read_the_real_logits(name):
    loss = built(LOSSES, name)
    fake = logits(FAKE)
    assert loss.generator_needs_real_logits
    assert not torch.equal(
        loss.generator_loss(fake, logits(PAIRED_REAL)), loss.generator_loss(fake, logits(-PAIRED_REAL))
    )


def test_rpgan_comes_with_r1_and_r2_of_weight_gamma():
    loss = built(LOSSES, "rpgan", gamma=0.5)
    r1, r2 = loss.discriminator_terms
    assert (type(r1), r1.gamma) == (R1Penalty, 0.5)
    assert (type(r2), r2.gamma) == (R2Penalty, 0.5)
    assert gan_hooks(loss, penalty=None).discriminator_terms == [r1, r2]


def test_rpgan_with_gamma_zero_is_unregularised():
    assert RelativisticPairingLoss(gamma=0.0).discriminator_terms == ()


def test_ragan_comes_with_no_regularizers():
    loss = RelativisticAverageLoss()
    assert loss.discriminator_terms == () and loss.after_discriminator_update == ()


def test_r2_penalty_of_a_linear_critic_is_half_gamma_squared_norm():
    critic = linear_critic([3.0, 4.0])
    fake = torch.randn(16, 2, dtype=torch.float64)
    assert penalty_of(built(PENALTIES, "r2", gamma=10.0), critic, fake, fake) == pytest.approx(
        0.5 * 10.0 * 25.0
    )


class Quadratic(nn.Module):
    def forward(self, x):
        return (x**2).sum(dim=1)  # grad = 2x, ||grad||^2 = 4 ||x||^2


def test_r2_penalty_uses_fake_samples_only():
    real = torch.full((2, 2), 100.0, dtype=torch.float64)
    fake = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    expected = 0.5 * 2.0 * np.mean([4 * 1.0, 4 * 4.0])
    assert penalty_of(R2Penalty(gamma=2.0), Quadratic(), real, fake) == pytest.approx(expected)


class LeadingCoordinateRelu(nn.Module):
    def forward(self, x):
        return torch.relu(x[..., 0])


def test_r2_penalty_is_zero_where_the_discriminator_is_constant_on_the_fakes():
    # D(x) = relu(x_0): flat where x_0 < 0, where every fake lies; every real sees slope 1
    critic = LeadingCoordinateRelu()
    real = torch.tensor([[1.0, 5.0], [2.0, -3.0]], dtype=torch.float64)
    fake = torch.tensor([[-1.0, 5.0], [-2.0, -3.0]], dtype=torch.float64)
    assert penalty_of(R2Penalty(gamma=10.0), critic, real, fake) == 0.0
    assert penalty_of(R1Penalty(gamma=10.0), critic, real, fake) == pytest.approx(0.5 * 10.0)


def test_r2_penalty_trains_the_discriminator_but_not_the_generator():
    generator = nn.Linear(2, 2).double()
    critic = linear_critic([3.0, 4.0])
    fake = generator(torch.randn(8, 2, dtype=torch.float64)).unsqueeze(0)
    noise = MemberStreams([torch.Generator()])
    R2Penalty(gamma=1.0)(stack_members([critic]), fake.detach(), fake, noise).sum().backward()
    assert generator.weight.grad is None
    # d/dw of 0.5 * ||w||^2 is w
    assert torch.allclose(critic[0].weight.grad, torch.tensor([[3.0, 4.0]], dtype=torch.float64))


def test_after_20_steps_each_rpgan_member_has_the_weights_of_its_trial_alone(write_suite):
    assert_same_as_alone(gan_suite(write_suite, loss="{name: rpgan, params: {gamma: 1.0}}").trials)


def test_after_20_steps_each_ragan_member_has_the_weights_of_its_trial_alone(write_suite):
    """With SGD: RaGAN's objective does not change when every logit shifts by one amount, so the
    gradient of D's output bias (and of each hidden unit's bias while all samples share its linear
    piece) is zero up to rounding, and Adam, which divides by the gradient's scale, turns that
    rounding, summed in another order by the ensemble, into steps of the learning rate in directions
    the loss ignores (measured: 5e-4 after 5 steps). RpGAN's pairs cancel exactly, so it does not."""
    assert_same_as_alone(gan_suite(write_suite, loss="ragan", optimizer="sgd").trials)


def test_members_with_the_r2_penalty_and_packing_keep_the_weights_of_their_trials(write_suite):
    suite = gan_suite(write_suite, loss="ns", penalty="{name: r2, params: {gamma: 1.0}}", pack=2)
    assert_same_as_alone(suite.trials)


@pytest.mark.parametrize("loss", ["ragan", "rpgan"])
def test_dcgan_trains_with_the_relativistic_losses(loss):
    trains(gan_step(built(LOSSES, loss), discriminator_norm="none"))


def test_rpgan_pairs_packs_and_keeps_members_equal_to_their_trials(write_suite):
    suite = gan_suite(write_suite, loss="rpgan", pack=2, steps=10, eval_every=5, seeds=[0, 1])
    assert_same_as_alone(suite.trials)


CLI_SUITE = """
name: relativistic
dataset: {name: ring8}
model: {name: mlp_gan, params: {latent_dim: 2, hidden: 16, depth: 2}}
loss: ns
optimizer: {name: adam, lr: 1.0e-3}
train: {steps: 10, batch_size: 32, eval_every: 0, eval_samples: 128}
metrics: [modes]
grid:
  loss: [ragan, rpgan]
  model.params.minibatch_std: [false, true]
"""


@pytest.mark.slow
def test_genbench_run_finishes_a_grid_of_relativistic_losses_and_minibatch_std(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(textwrap.dedent(CLI_SUITE).lstrip())
    result = genbench_process(
        "run", suite, "--out", tmp_path / "run", "--workers", "1", "--device", "cpu", "-q"
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(path.read_text()) for path in (tmp_path / "run" / "trials").glob("*/record.json")]
    assert sorted(
        (record["spec"]["loss"]["name"], record["spec"]["model"]["params"].get("minibatch_std", False))
        for record in records
    ) == [("ragan", False), ("ragan", True), ("rpgan", False), ("rpgan", True)]
    assert {record["status"] for record in records} == {"finished"}
    assert len(load_suite(suite).trials) == 4
