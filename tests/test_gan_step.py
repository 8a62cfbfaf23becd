"""The GAN step's extension points: remedies plug in through GanHooks, never by editing GanStep."""

from __future__ import annotations

import torch
from torch import nn

from genbench.catalog import DATASETS, MODELS
from genbench.losses.gan import (
    NonSaturatingLoss,
    WassersteinClipLoss,
    WassersteinGradientPenaltyLoss,
    WassersteinLoss,
)
from genbench.losses.penalties import GradientPenalty, R1Penalty, WeightClipping
from genbench.models.stacking import stack_networks
from genbench.optim import build_optimizer
from genbench.train.gan import GanHooks, GanStep, gan_hooks

from .components import built, streams

BATCH = 16
DATA_SEED = 1


def gan_step(loss=None, hooks: GanHooks | None = None, d_steps: int = 1) -> GanStep:
    torch.manual_seed(0)
    parts = built(MODELS, "mlp_gan", (2,), latent_dim=2, hidden=8, depth=1)
    return GanStep(
        networks=stack_networks([parts]),
        datasets=[built(DATASETS, "ring8")],
        loss=loss or NonSaturatingLoss(),
        generator_optimizer=build_optimizer("adam", {"lr": 1e-2}, "generator", parts.generator.parameters()),
        discriminator_optimizer=build_optimizer(
            "adam", {"lr": 1e-2}, "discriminator", parts.discriminator.parameters()
        ),
        batch_size=BATCH,
        d_steps=d_steps,
        streams=streams(DATA_SEED, 2),
        hooks=hooks or GanHooks(),
    )


def first_real_batch() -> torch.Tensor:
    """The step's first real batch, [1, batch, 2]: a trial alone is an ensemble of one member."""
    return built(DATASETS, "ring8").sample(BATCH, torch.Generator().manual_seed(DATA_SEED)).unsqueeze(0)


def test_an_after_update_hook_is_called_once_per_discriminator_update_with_the_discriminator():
    seen: list[nn.Module] = []
    step = gan_step(hooks=GanHooks(after_discriminator_update=[seen.append]), d_steps=3)
    step()
    step()
    assert len(seen) == 6
    assert all(network is step.networks.discriminator for network in seen)


def test_an_after_update_hook_is_called_once_per_generator_update_with_the_generator():
    seen: list[nn.Module] = []
    step = gan_step(hooks=GanHooks(after_generator_update=[seen.append]), d_steps=3)
    step()
    step()
    assert seen == [step.networks.generator, step.networks.generator]


def test_an_input_transform_sees_the_real_and_the_fake_batches():
    seen: list[torch.Tensor] = []

    def record(samples: torch.Tensor) -> torch.Tensor:
        seen.append(samples)
        return samples

    step = gan_step(hooks=GanHooks(discriminator_inputs=[record]))
    step()
    real, fake, generator_fake = seen
    assert torch.equal(real, first_real_batch())
    assert fake.shape == real.shape and not fake.requires_grad
    # the generator update's fakes pass through it too, with their graph to the generator
    assert generator_fake.shape == real.shape and generator_fake.requires_grad


def test_the_discriminator_and_its_terms_see_the_transformed_batches():
    scored: list[torch.Tensor] = []
    step = gan_step()
    discriminator = step.networks.discriminator
    discriminator.register_forward_pre_hook(lambda module, inputs: scored.append(inputs[0]))

    def term(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, noise) -> torch.Tensor:
        assert critic is discriminator
        assert torch.equal(real, first_real_batch() + 100) and (fake > 50).all()
        return real.new_zeros(())

    step.hooks = GanHooks(discriminator_inputs=[lambda samples: samples + 100], discriminator_terms=[term])
    step()
    assert len(scored) == 3 and all((batch > 50).all() for batch in scored)


def test_discriminator_terms_enter_its_objective_but_not_its_loss_signal():
    def shift(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, noise) -> torch.Tensor:
        return 100 * critic(real).mean()  # pushes real logits down: changes the update

    plain, regularized = gan_step(), gan_step(hooks=GanHooks(discriminator_terms=[shift]))
    plain_signals, regularized_signals = plain()[0], regularized()[0]  # member 0's signals
    # (g_loss, d_loss, g_grad_norm, d_grad_norm): the first d_loss is computed before the update
    assert regularized_signals[1] == plain_signals[1]
    assert regularized_signals[3] != plain_signals[3]


def test_a_loss_that_reads_real_logits_gets_those_of_the_last_real_batch_without_a_new_draw():
    class RelativisticProbe(NonSaturatingLoss):
        generator_needs_real_logits = True
        received: torch.Tensor | None = None

        def generator_loss(self, fake_logits, real_logits):
            self.received = real_logits
            return super().generator_loss(fake_logits, real_logits)

    probe, plain = gan_step(RelativisticProbe(), d_steps=2), gan_step(d_steps=2)
    probe()
    plain()
    rng = torch.Generator().manual_seed(DATA_SEED)
    ring = built(DATASETS, "ring8")
    ring.sample(BATCH, rng)  # the first discriminator update's batch
    last_real = ring.sample(BATCH, rng)
    with torch.no_grad():
        expected = probe.networks.discriminator(last_real.unsqueeze(0))
    assert torch.equal(probe.loss.received, expected)
    (probe_data,), (plain_data,) = probe.streams.data.generators, plain.streams.data.generators
    assert torch.equal(probe_data.get_state(), plain_data.get_state())


def test_a_loss_that_does_not_read_real_logits_gets_none():
    class Probe(NonSaturatingLoss):
        received: object = "not called"

        def generator_loss(self, fake_logits, real_logits):
            self.received = real_logits
            return super().generator_loss(fake_logits, real_logits)

    step = gan_step(Probe())
    step()
    assert step.loss.received is None


def test_wgan_clipping_runs_as_an_after_update_hook():
    hooks = gan_hooks(WassersteinClipLoss(clip=0.01), penalty=None)
    assert [type(hook) for hook in hooks.after_discriminator_update] == [WeightClipping]
    step = gan_step(WassersteinClipLoss(clip=0.01), hooks)
    step()
    assert all(parameter.abs().max() <= 0.01 for parameter in step.networks.discriminator.parameters())


def test_the_step_clips_nothing_by_itself():
    step = gan_step(WassersteinClipLoss(clip=0.01))  # the loss, but no hooks built from it
    step()
    assert any(parameter.abs().max() > 0.01 for parameter in step.networks.discriminator.parameters())


def test_wgan_gp_and_a_suite_penalty_take_the_same_route_loss_first():
    r1 = R1Penalty(gamma=1.0)
    hooks = gan_hooks(WassersteinGradientPenaltyLoss(gp_weight=5.0), penalty=r1)
    gradient_penalty, suite_penalty = hooks.discriminator_terms
    assert isinstance(gradient_penalty, GradientPenalty) and gradient_penalty.weight == 5.0
    assert suite_penalty is r1
    assert hooks.after_discriminator_update == [] and hooks.discriminator_inputs == []


def test_wgan_gp_trains_exactly_as_the_wasserstein_loss_with_the_gp_penalty():
    loss = WassersteinGradientPenaltyLoss(gp_weight=5.0)
    through_loss = gan_step(loss, gan_hooks(loss, penalty=None))
    through_penalty = gan_step(WassersteinLoss(), gan_hooks(WassersteinLoss(), GradientPenalty(weight=5.0)))
    torch.manual_seed(3)
    first = torch.stack([through_loss() for _ in range(3)])
    torch.manual_seed(3)
    second = torch.stack([through_penalty() for _ in range(3)])
    assert torch.equal(first, second)
