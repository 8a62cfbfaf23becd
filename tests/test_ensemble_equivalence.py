"""Trials trained together as a vectorized ensemble give the numbers of the same trials run alone.

Member k is built under trial k's seed and fed from trial k's streams, so after 20 steps its
weights equal those of trial k trained alone to float32 tolerance (the batched matmul sums in
another order), for every loss, penalty and optimizer and for the VAE. Over longer training tiny
differences can grow (GAN training is chaotic), so the long test compares distributions: the
final metrics of 16 seeds run both ways are statistically indistinguishable.
"""

from __future__ import annotations

import io
import math
import textwrap

import pytest
import torch
from scipy import stats

from genbench.errors import GenbenchError
from genbench.suite import load_suite
from genbench.train.streams import DATA_STREAM
from genbench.train.trial import TrialOutcome, run_trial, run_trials

CPU = torch.device("cpu")
#: float32 tolerance after 20 steps (measured differences: up to 1.2e-7)
WEIGHT_TOLERANCE = 1e-5

GAN_SUITE = """
name: together
dataset: {{name: ring8}}
model: {{name: mlp_gan, params: {{latent_dim: 2, hidden: 16, depth: 2, pack: {pack}}}}}
loss: {loss}
{penalty}
optimizer: {{name: {optimizer}, lr: 1.0e-3}}
train: {{steps: {steps}, batch_size: 32, d_steps: {d_steps}, eval_every: {eval_every}, eval_samples: 256}}
metrics: [modes]
grid: {{seed: {seeds}}}
"""

VAE_SUITE = """
name: together
dataset: {{name: {dataset}}}
model: {{name: vae_mlp, params: {{latent_dim: 2, hidden: 16, depth: 1, likelihood: {likelihood}}}}}
loss: {{name: elbo, params: {{warmup_steps: 10}}}}
optimizer: {{name: adam, lr: 3.0e-3}}
train: {{steps: 20, batch_size: 32, eval_every: 10, eval_samples: 128}}
metrics: [{metric}]
grid: {{seed: [0, 1, 2]}}
"""


def gan_suite(
    write_suite,
    loss: str = "ns",
    optimizer: str = "adam",
    penalty: str = "",
    d_steps: int = 1,
    pack: int = 1,
    steps: int = 20,
    eval_every: int = 10,
    seeds: list[int] | None = None,
):
    text = GAN_SUITE.format(
        loss=loss,
        optimizer=optimizer,
        penalty=f"penalty: {penalty}" if penalty else "",
        d_steps=d_steps,
        pack=pack,
        steps=steps,
        eval_every=eval_every,
        seeds=seeds or [0, 1, 2],
    )
    return load_suite(write_suite(textwrap.dedent(text)))


def weights(outcome: TrialOutcome) -> dict[str, dict[str, torch.Tensor]]:
    return torch.load(io.BytesIO(outcome.checkpoint), weights_only=True)["state_dicts"]


def assert_same_as_alone(trials, tolerance: float = WEIGHT_TOLERANCE) -> None:
    together = run_trials(trials, "together", CPU)
    for index, (trial, member) in enumerate(zip(trials, together, strict=True)):
        alone = run_trial(trial, "together", CPU)
        assert member.record.ensemble is not None
        assert (member.record.ensemble.member, member.record.ensemble.size) == (index, len(trials))
        assert alone.record.ensemble is None
        assert member.record.status == alone.record.status == "finished"
        alone_weights, member_weights = weights(alone), weights(member)
        assert alone_weights.keys() == member_weights.keys()
        for network, state in alone_weights.items():
            for name, tensor in state.items():
                torch.testing.assert_close(
                    member_weights[network][name],
                    tensor,
                    atol=tolerance,
                    rtol=tolerance,
                    msg=lambda text, where=f"member {index}, {network}.{name}": f"{where}: {text}",
                )
        # the window signals and the evaluations at every scheduled step, member by member
        alone_curves = {(point.step, point.metric): point.value for point in alone.curves}
        member_curves = {(point.step, point.metric): point.value for point in member.curves}
        assert alone_curves.keys() == member_curves.keys()
        for key, value in alone_curves.items():
            assert member_curves[key] == pytest.approx(value, rel=10 * tolerance, abs=10 * tolerance), key


@pytest.mark.parametrize("loss", ["ns", "minimax", "wgan", "wgan-gp", "hinge", "lsgan"])
def test_after_20_steps_each_member_has_the_weights_of_its_trial_alone_for_every_loss(write_suite, loss):
    assert_same_as_alone(gan_suite(write_suite, loss=loss).trials)


@pytest.mark.parametrize("optimizer", ["adamw", "rmsprop", "sgd"])
def test_after_20_steps_each_member_has_the_weights_of_its_trial_alone_for_every_optimizer(
    write_suite, optimizer
):
    assert_same_as_alone(gan_suite(write_suite, optimizer=optimizer).trials)


@pytest.mark.parametrize("penalty", ["{name: r1, params: {gamma: 1.0}}", "{name: gp, params: {weight: 1.0}}"])
def test_after_20_steps_each_member_has_the_weights_of_its_trial_alone_with_a_penalty(write_suite, penalty):
    assert_same_as_alone(gan_suite(write_suite, loss="hinge", penalty=penalty).trials)


def test_critic_steps_and_packing_keep_members_equal_to_their_trials(write_suite):
    assert_same_as_alone(gan_suite(write_suite, loss="wgan-gp", d_steps=3, pack=2).trials)


@pytest.mark.parametrize(
    ("dataset", "likelihood", "metric"), [("ring8", "gaussian", "modes"), ("digits", "bernoulli", "vae")]
)
def test_after_20_steps_each_vae_member_has_the_weights_of_its_trial_alone(
    write_suite, dataset, likelihood, metric
):
    text = VAE_SUITE.format(dataset=dataset, likelihood=likelihood, metric=metric)
    assert_same_as_alone(load_suite(write_suite(textwrap.dedent(text))).trials)


def test_trials_that_differ_in_more_than_the_seed_are_refused(write_suite):
    ns, hinge = gan_suite(write_suite, loss="ns").trials[0], gan_suite(write_suite, loss="hinge").trials[0]
    with pytest.raises(GenbenchError, match="differ only in their seed"):
        run_trials([ns, hinge], "together", CPU)


class PoisonedRing:
    """ring8, except that the member fed from seed 1's data stream gets NaN from its 6th batch on:
    one member diverges while the others train on."""

    shape = (2,)

    def __init__(self) -> None:
        from genbench.catalog import DATASETS

        from .components import built

        self.ring = built(DATASETS, "ring8")
        self.mode_centres, self.mode_std = self.ring.mode_centres, self.ring.mode_std
        self.draws: dict[int, int] = {}

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        samples = self.ring.sample(n, generator)
        seed = generator.initial_seed()
        self.draws[seed] = self.draws.get(seed, 0) + 1
        if seed == 1 + DATA_STREAM and self.draws[seed] > 5:
            return torch.full_like(samples, math.nan)
        return samples


def test_one_diverging_member_is_recorded_at_its_step_and_the_others_finish_as_alone(
    write_suite, monkeypatch
):
    suite = gan_suite(write_suite, steps=40, eval_every=20)
    monkeypatch.setattr("genbench.train.build.build_component", poisoned_datasets())
    together = run_trials(suite.trials, "together", CPU)
    assert [outcome.record.status for outcome in together] == ["finished", "diverged", "finished"]
    assert together[1].record.diverged_step == 6
    assert together[1].checkpoint is None and together[1].record.metrics == {}
    for index in (0, 2):
        alone = run_trial(suite.trials[index], "together", CPU)
        assert together[index].record.metrics == pytest.approx(alone.record.metrics)


def poisoned_datasets():
    """build_component, with every dataset a PoisonedRing."""
    from genbench.catalog import DATASETS
    from genbench.train import build

    original = build.build_component

    def build_component(spec, registry, *args):
        return PoisonedRing() if registry is DATASETS else original(spec, registry, *args)

    return build_component


LEARNING_SUITE = """
name: together
dataset: {name: ring8, params: {std: 0.05}}
model: {name: mlp_gan, params: {latent_dim: 2, hidden: 32, depth: 2}}
loss: ns
optimizer: {name: adam, lr: 2.0e-3}
train: {steps: 400, batch_size: 64, eval_every: 0, eval_samples: 256}
metrics: [modes]
grid: {seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]}
"""


@pytest.mark.slow
def test_final_metrics_of_16_seeds_are_distributed_alike_together_and_alone(write_suite):
    """GAN training is chaotic: over 400 steps float-level differences may grow. What must not
    change is the distribution of results; the test asks that no difference is significant.
    The suite is one in which the GANs learn (about 3 of 8 modes), so there is something to
    diverge: measured, 15 of the 16 seeds ended identical both ways, one covered one mode more
    together (mode_kl 0.40 apart)."""
    suite = load_suite(write_suite(textwrap.dedent(LEARNING_SUITE)))
    together = [outcome.record.metrics for outcome in run_trials(suite.trials, "together", CPU)]
    alone = [run_trial(trial, "together", CPU).record.metrics for trial in suite.trials]
    assert sum(metrics["modes_covered"] for metrics in alone) / 16 > 1.5  # the GANs learned
    for key in ("modes_covered", "hq_fraction", "mode_kl"):
        first, second = [m[key] for m in together], [m[key] for m in alone]
        if first == second:
            continue
        assert stats.mannwhitneyu(first, second).pvalue > 0.05, (key, first, second)
        assert stats.ks_2samp(first, second).pvalue > 0.05, (key, first, second)


IMAGE_SUITE = """
name: together
dataset: {{name: digits, params: {{size: 16}}}}
{model_and_loss}
optimizer: {{name: adam, lr: 1.0e-3}}
train: {{steps: 20, batch_size: 16, eval_every: 10, eval_samples: 64}}
metrics: [prdc]
grid: {{seed: [0, 1, 2]}}
"""


@pytest.mark.parametrize(
    "model_and_loss",
    [
        # batch norm: its running statistics are each member's own
        "model: {name: dcgan, params: {latent_dim: 8, base_channels: 8}}\nloss: ns",
        # a gradient penalty: double backward through the vmapped critic
        "model: {name: dcgan, params: {latent_dim: 8, base_channels: 8, discriminator_norm: none}}\n"
        "loss: wgan-gp",
        "model: {name: vae_conv, params: {latent_dim: 4, base_channels: 8, likelihood: gaussian}}\n"
        "loss: elbo",
    ],
)
def test_conv_members_vmapped_have_the_weights_and_statistics_of_their_trials_alone(
    write_suite, model_and_loss
):
    """Vmapped convolutions sum in another order than a single network's; Adam's normalisation
    can turn such a difference in a near-zero gradient into one of up to a learning rate's size
    (1e-3 here), so the tolerance is that (measured: 1 weight of 2,048 off by 3.4e-4, the others
    within 5e-5, after 20 steps)."""
    text = IMAGE_SUITE.format(model_and_loss=model_and_loss)
    assert_same_as_alone(load_suite(write_suite(textwrap.dedent(text))).trials, tolerance=1e-3)


def test_members_on_different_datasets_of_one_shape_each_train_and_score_on_their_own(write_suite):
    """ring8 and grid25 members in one ensemble: each draws from its own dataset and is scored
    against its own reference set and modes."""
    text = GAN_SUITE.format(
        loss="ns", optimizer="adam", penalty="", d_steps=1, pack=1, steps=20, eval_every=10, seeds=[0, 1]
    ).replace("grid: {seed: [0, 1]}", "grid: {dataset: [ring8, grid25], seed: [0, 1]}")
    trials = load_suite(write_suite(textwrap.dedent(text))).trials
    assert_same_as_alone(trials)
    together = run_trials(trials, "together", CPU)
    assert {len(outcome.mode_centres) for outcome in together} == {8, 25}
