"""Remedies compute what their papers define, through the step's hooks, alone and in ensembles.

Each expected value is computed independently of the remedy: the EMA from the recorded raw weights
by its recursion, unrolling's generator gradient against a copy of the discriminator updated by
hand, spectral norm's sigma by ``torch.linalg.matrix_norm``, instance noise's std from its
schedule. Members of an ensemble end with the weights of their trials alone, for every remedy.
"""

from __future__ import annotations

import copy
import io
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genbench.catalog import DATASETS, MODELS
from genbench.errors import GenbenchError
from genbench.losses.gan import NonSaturatingLoss
from genbench.models.checkpoint import load_checkpoint
from genbench.models.stacking import SingleMember, VmappedMembers, stack_networks
from genbench.optim import build_optimizer
from genbench.remedies.base import Remedy, Training
from genbench.remedies.diffaugment import DiffAugment
from genbench.remedies.diffaugment_ops import augment
from genbench.remedies.ema import GeneratorAverage
from genbench.remedies.instance_noise import InstanceNoise
from genbench.remedies.spectral_norm import SpectralNorm, SpectralNormalisation
from genbench.remedies.unrolled import UnrolledDiscriminator
from genbench.spec import ComponentSpec
from genbench.suite import load_suite
from genbench.train.gan import GanStep, gan_hooks
from genbench.train.streams import AUGMENT_STREAM, EVAL_STREAM, INPUT_NOISE_STREAM, MemberStreams
from genbench.train.trial import build_member, run_trial, run_trials

from .components import built, streams
from .remedy_probes import RawGeneratorWeights
from .test_ensemble_equivalence import assert_same_as_alone

CPU = torch.device("cpu")
BATCH = 16
DATA_SEED, LATENT_SEED = 1, 2


def remedied_step(remedies: list[Remedy], d_steps: int = 1) -> GanStep:
    """A one-member NS-GAN step on ring8 with ``remedies`` prepared and installed, as gan_step does."""
    torch.manual_seed(0)
    parts = built(MODELS, "mlp_gan", (2,), latent_dim=2, hidden=8, depth=1)
    for remedy in remedies:
        remedy.prepare_member(parts, seed=0)
    networks = stack_networks([parts])
    loss = NonSaturatingLoss()
    hooks = gan_hooks(loss, penalty=None)
    for remedy in remedies:
        remedy.install(hooks, Training(networks=networks, seeds=[0], device=CPU))
    return GanStep(
        networks=networks,
        datasets=[built(DATASETS, "ring8")],
        loss=loss,
        generator_optimizer=build_optimizer("adam", {"lr": 1e-2}, "generator", parts.generator.parameters()),
        discriminator_optimizer=build_optimizer(
            "adam", {"lr": 1e-2}, "discriminator", parts.discriminator.parameters()
        ),
        batch_size=BATCH,
        d_steps=d_steps,
        streams=streams(DATA_SEED, LATENT_SEED),
        hooks=hooks,
    )


def copies(tensors) -> list[torch.Tensor]:
    return [tensor.detach().clone() for tensor in tensors]


# -- ema ----------------------------------------------------------------------------------------


def ema_by_recursion(recorded: list[list[torch.Tensor]], decay: float, start_step: int) -> list[torch.Tensor]:
    """avg_0 = w_0; avg_t = w_t up to start_step updates, decay * avg_{t-1} + (1 - decay) * w_t after."""
    average = [weight.double() for weight in recorded[0]]
    for update, weights in enumerate(recorded[1:], start=1):
        if update <= start_step:
            average = [weight.double() for weight in weights]
        else:
            average = [
                decay * old + (1 - decay) * new.double() for old, new in zip(average, weights, strict=True)
            ]
    return average


def test_the_ema_after_n_updates_is_the_average_of_the_recorded_raw_weights():
    decay, start_step = 0.8, 3
    step = remedied_step([GeneratorAverage(decay, start_step), RawGeneratorWeights()])
    for _ in range(10):
        step()
    parameters = step.networks.generator.member_parameters()
    recorded = RawGeneratorWeights.recorded
    assert len(recorded) == 11
    with step.hooks.evaluated_weights():
        evaluated = copies(parameters)
    for got, expected, raw in zip(
        evaluated, ema_by_recursion(recorded, decay, start_step), recorded[-1], strict=True
    ):
        torch.testing.assert_close(got.double(), expected, atol=1e-6, rtol=1e-6)
        assert not torch.allclose(got, raw)
    # training goes on with the trained weights, bit for bit
    for parameter, raw in zip(parameters, recorded[-1], strict=True):
        assert torch.equal(parameter, raw)


def test_a_trial_with_ema_evaluates_samples_and_checkpoints_the_average(write_suite, tmp_path):
    suite = load_suite(
        write_suite("""
            name: ema
            dataset: {name: ring8}
            model: {name: mlp_gan, params: {latent_dim: 2, hidden: 8, depth: 1}}
            loss: ns
            optimizer: {name: adam, lr: 1.0e-2}
            train: {steps: 12, batch_size: 16, eval_every: 0, eval_samples: 64}
            metrics: [modes]
            remedies:
              - {name: ema, params: {decay: 0.7, start_step: 2}}
              - tests.remedy_probes:RawGeneratorWeights
            """)
    )
    outcome = run_trial(suite.trials[0], "ema", CPU)
    expected = ema_by_recursion(RawGeneratorWeights.recorded, 0.7, 2)
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(outcome.checkpoint)
    parts = load_checkpoint(str(path), (2,))
    for got, want in zip(parts.generator.parameters(), expected, strict=True):
        torch.testing.assert_close(got.detach().double(), want, atol=1e-6, rtol=1e-6)
    latents = MemberStreams.seeded(CPU, [0], EVAL_STREAM).draw(lambda rng: parts.latents(64, rng))[0]
    with torch.no_grad():
        samples = parts.generator.eval()(latents)
    torch.testing.assert_close(torch.as_tensor(outcome.samples), samples, atol=1e-6, rtol=1e-6)


# -- unrolled -----------------------------------------------------------------------------------


def test_the_unrolled_look_ahead_restores_the_discriminator_and_its_optimizer():
    step = remedied_step([UnrolledDiscriminator(steps=3)])
    step()  # the optimizers have state
    discriminator = step.networks.discriminator
    before = copies(discriminator.state_dict().values())
    state_before = copy.deepcopy(step.discriminator_optimizer.state_dict())
    step.generator_update(step.real_batch())
    for tensor, saved in zip(discriminator.state_dict().values(), before, strict=True):
        assert torch.equal(tensor, saved)
    state_after = step.discriminator_optimizer.state_dict()
    for index, saved in state_before["state"].items():
        for key, value in saved.items():
            assert torch.equal(torch.as_tensor(state_after["state"][index][key]), torch.as_tensor(value))


def test_the_unrolled_generator_gradient_is_the_one_against_a_copy_of_d_updated_k_times():
    steps = 3
    step = remedied_step([UnrolledDiscriminator(steps=steps)])
    step()
    real = step.real_batch()[0]
    generator = step.networks.generator.module
    # by hand: a copy of D and of its Adam state, updated k times on the batches the streams give next
    critic = copy.deepcopy(step.networks.discriminator.module)
    optimizer = torch.optim.Adam(critic.parameters(), lr=1e-2, betas=(0.5, 0.999))
    optimizer.load_state_dict(copy.deepcopy(step.discriminator_optimizer.state_dict()))
    data_rng, latent_rng = torch.Generator(), torch.Generator()
    data_rng.set_state(step.streams.data.generators[0].get_state())
    latent_rng.set_state(step.streams.latent.generators[0].get_state())
    ring = built(DATASETS, "ring8")
    for _ in range(steps):
        batch = ring.sample(BATCH, data_rng)
        with torch.no_grad():
            fake = generator(torch.randn(BATCH, 2, generator=latent_rng))
        loss = F.softplus(-critic(batch)).mean() + F.softplus(critic(fake)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    fake = generator(torch.randn(BATCH, 2, generator=latent_rng))
    expected = torch.autograd.grad(F.softplus(-critic(fake)).mean(), list(generator.parameters()))
    step.generator_update(real.unsqueeze(0))
    for parameter, gradient in zip(generator.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient, atol=1e-6, rtol=1e-5)


# -- spectral norm ------------------------------------------------------------------------------


def test_spectral_norm_sigma_converges_to_the_largest_singular_value():
    weight = torch.randn(12, 7, generator=torch.Generator().manual_seed(4))
    normalisation = SpectralNormalisation(weight, power_iterations=1, start=torch.Generator().manual_seed(5))
    for _ in range(50):
        normalised = normalisation(weight)
    expected = torch.linalg.matrix_norm(weight, 2)
    torch.testing.assert_close(normalisation.sigma(weight), expected, rtol=1e-4, atol=0)
    torch.testing.assert_close(torch.linalg.matrix_norm(normalised, 2), torch.tensor(1.0), rtol=1e-4, atol=0)


def test_spectral_norm_leaves_its_vectors_alone_in_evaluation_mode():
    weight = torch.randn(5, 3)
    normalisation = SpectralNormalisation(weight, power_iterations=1, start=torch.Generator().manual_seed(0))
    u = normalisation.u.clone()
    normalisation.eval()(weight)
    assert torch.equal(normalisation.u, u)
    normalisation.train()(weight)
    assert not torch.equal(normalisation.u, u)


@pytest.mark.parametrize(
    ("model", "data_shape", "params", "layers"),
    [
        ("mlp_gan", (2,), {"latent_dim": 2, "hidden": 8, "depth": 2}, nn.Linear),
        (
            "dcgan",
            (1, 16, 16),
            {"latent_dim": 4, "base_channels": 4, "discriminator_norm": "none"},
            nn.Conv2d,
        ),
    ],
)
def test_spectral_norm_normalises_every_layer_of_the_mlp_and_dcgan_discriminators(
    model, data_shape, params, layers
):
    parts = built(MODELS, model, data_shape, **params)
    SpectralNorm(power_iterations=1).prepare_member(parts, seed=0)
    normalised = [module for module in parts.discriminator.modules() if isinstance(module, layers)]
    assert normalised
    for layer in normalised:
        original = layer.parametrizations.weight.original.flatten(1)
        for _ in range(100):
            matrix = layer.weight.flatten(1)  # each access in training mode refines the estimate
        torch.testing.assert_close(torch.linalg.matrix_norm(matrix, 2), torch.tensor(1.0), rtol=1e-3, atol=0)
        torch.testing.assert_close(
            matrix * torch.linalg.matrix_norm(original, 2), original, rtol=1e-3, atol=1e-6
        )
    logits = parts.discriminator(torch.zeros(3, *data_shape))
    assert logits.shape == (3,)


def test_spectrally_normalised_discriminators_of_an_ensemble_are_vmapped():
    members = [built(MODELS, "mlp_gan", (2,), latent_dim=2, hidden=8, depth=1) for _ in range(2)]
    for seed, parts in enumerate(members):
        SpectralNorm(power_iterations=1).prepare_member(parts, seed)
    networks = stack_networks(members)
    assert isinstance(networks.discriminator, VmappedMembers)
    alone = stack_networks(members[:1])
    assert isinstance(alone.discriminator, SingleMember)


def test_a_checkpoint_of_a_spectrally_normalised_discriminator_loads(write_suite, tmp_path):
    suite = load_suite(write_suite(EQUIVALENCE_SUITE.format(remedy="spectral_norm", seeds=[0])))
    outcome = run_trial(suite.trials[0], "sn", CPU)
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(outcome.checkpoint)
    parts = load_checkpoint(str(path), (2,))
    state = torch.load(io.BytesIO(outcome.checkpoint), weights_only=True)["state_dicts"]["discriminator"]
    for name, tensor in parts.discriminator.state_dict().items():
        assert torch.equal(tensor, state[name])


# -- instance noise -----------------------------------------------------------------------------


def test_instance_noise_falls_linearly_to_zero_over_its_anneal_steps():
    annealed = InstanceNoise(std=0.4, anneal_steps=100)
    assert [annealed.std_at(update) for update in (0, 25, 50, 100, 150)] == pytest.approx(
        [0.4, 0.3, 0.2, 0, 0]
    )
    assert InstanceNoise(std=0.4, anneal_steps=0).std_at(10**6) == 0.4


def test_instance_noise_has_its_std_and_comes_from_each_members_own_stream():
    hooks = gan_hooks(NonSaturatingLoss(), penalty=None)
    networks = stack_networks([built(MODELS, "mlp_gan", (2,), latent_dim=2, hidden=4, depth=1)])
    InstanceNoise(std=0.3, anneal_steps=0).install(
        hooks, Training(networks=networks, seeds=[5, 9], device=CPU)
    )
    (noise,) = hooks.discriminator_inputs
    samples = torch.ones(2, 20_000, 2)
    noised = noise(samples)
    assert (noised - samples).std(dim=(1, 2)).tolist() == pytest.approx([0.3, 0.3], rel=0.02)
    for member, seed in enumerate((5, 9)):
        own = torch.randn(20_000, 2, generator=torch.Generator().manual_seed(seed + INPUT_NOISE_STREAM))
        torch.testing.assert_close(noised[member], 1 + 0.3 * own)


def test_the_generator_update_sees_noised_inputs_like_the_discriminator_update():
    std = 50.0  # far above the spread of the generator's and the data's samples
    step = remedied_step([InstanceNoise(std=std, anneal_steps=0)])
    scored: list[torch.Tensor] = []
    step.networks.discriminator.register_forward_pre_hook(lambda module, inputs: scored.append(inputs[0]))
    step()
    real, fake, generator_fake = scored
    for batch in (real, fake, generator_fake):
        assert batch.std().item() == pytest.approx(std, rel=0.3)
    assert generator_fake.requires_grad


def test_annealed_instance_noise_stops_changing_inputs_at_its_end():
    step = remedied_step([InstanceNoise(std=1.0, anneal_steps=2)])
    scored: list[torch.Tensor] = []
    step.networks.discriminator.register_forward_pre_hook(lambda module, inputs: scored.append(inputs[0]))
    for _ in range(3):
        step()
    last_real = scored[-3]
    ring = built(DATASETS, "ring8")
    rng = torch.Generator().manual_seed(DATA_SEED)
    batches = [ring.sample(BATCH, rng) for _ in range(3)]
    assert torch.equal(last_real[0], batches[2])
    assert not torch.equal(scored[0][0], batches[0])


# -- diffaugment --------------------------------------------------------------------------------


def test_diffaugment_transforms_every_discriminator_input_from_each_members_stream():
    hooks = gan_hooks(NonSaturatingLoss(), penalty=None)
    networks = stack_networks([built(MODELS, "mlp_gan", (2,), latent_dim=2, hidden=4, depth=1)])
    DiffAugment(policy=["translation", "cutout"]).install(
        hooks, Training(networks=networks, seeds=[3, 4], device=CPU)
    )
    (transform,) = hooks.discriminator_inputs
    images = torch.randn(2, 6, 1, 8, 8, requires_grad=True)
    augmented = transform(images)
    expected = augment(images, ["translation", "cutout"], MemberStreams.seeded(CPU, [3, 4], AUGMENT_STREAM))
    assert torch.equal(augmented, expected) and not torch.equal(augmented, images)
    (gradient,) = torch.autograd.grad(augmented.sum(), images)
    assert gradient.abs().sum() > 0


# -- ensembles ----------------------------------------------------------------------------------

EQUIVALENCE_SUITE = """
name: together
dataset: {{name: ring8}}
model: {{name: mlp_gan, params: {{latent_dim: 2, hidden: 16, depth: 2}}}}
loss: ns
optimizer: {{name: adam, lr: 1.0e-3}}
train: {{steps: 20, batch_size: 32, eval_every: 10, eval_samples: 256}}
metrics: [modes]
remedies: [{remedy}]
grid: {{seed: {seeds}}}
"""


@pytest.mark.parametrize(
    "remedy",
    [
        "{name: ema, params: {decay: 0.9}}",
        "{name: unrolled, params: {steps: 2}}",
        "spectral_norm",
        "{name: instance_noise, params: {std: 0.1, anneal_steps: 10}}",
    ],
)
def test_after_20_steps_each_member_has_the_weights_of_its_trial_alone_with_each_remedy(write_suite, remedy):
    suite = load_suite(write_suite(textwrap.dedent(EQUIVALENCE_SUITE.format(remedy=remedy, seeds=[0, 1, 2]))))
    assert_same_as_alone(suite.trials)


def test_members_with_diffaugment_on_dcgan_equal_their_trials_alone(write_suite):
    suite = load_suite(
        write_suite("""
            name: together
            dataset: {name: digits, params: {size: 16}}
            model: {name: dcgan, params: {latent_dim: 4, base_channels: 4}}
            loss: hinge
            optimizer: {name: adam, lr: 2.0e-4}
            train: {steps: 6, batch_size: 8, eval_every: 3, eval_samples: 16}
            metrics: [{name: prdc, params: {k_precision_recall: 2, k_density_coverage: 2}}]
            remedies: [diffaugment, {name: instance_noise, params: {std: 0.05}}]
            grid: {seed: [0, 1, 2]}
            """)
    )
    assert_same_as_alone(suite.trials)


def test_every_remedy_trains_an_ensemble_of_dcgan_members_to_finite_results(write_suite):
    suite = load_suite(
        write_suite("""
            name: together
            dataset: {name: digits, params: {size: 16}}
            model: {name: dcgan, params: {latent_dim: 4, base_channels: 4}}
            loss: ns
            optimizer: {name: adam, lr: 2.0e-4}
            train: {steps: 3, batch_size: 8, eval_every: 0, eval_samples: 16}
            metrics: [{name: prdc, params: {k_precision_recall: 2, k_density_coverage: 2}}]
            remedies: [ema, {name: unrolled, params: {steps: 2}}, spectral_norm, instance_noise, diffaugment]
            grid: {seed: [0, 1]}
            """)
    )
    outcomes = run_trials(suite.trials, "together", CPU)
    assert [outcome.record.status for outcome in outcomes] == ["finished", "finished"]


def test_a_model_that_builds_a_vae_refuses_remedies_when_it_is_built(write_suite):
    spec = (
        load_suite(
            write_suite("""
            name: vae
            dataset: {name: ring8}
            model: {name: vae_mlp, params: {latent_dim: 2, hidden: 8, depth: 1, likelihood: gaussian}}
            loss: elbo
            optimizer: {name: adam, lr: 1.0e-3}
            train: {steps: 2, batch_size: 8, eval_every: 0, eval_samples: 16}
            metrics: [modes]
            """)
        )
        .trials[0]
        .spec
    )
    # what a user model (package.module:factory) that builds a VAE would meet: validation cannot tell
    with_remedy = spec.model_copy(
        update={"remedies": (ComponentSpec(name="ema", params={"decay": 0.9, "start_step": 0}),)}
    )
    with pytest.raises(GenbenchError, match="remedies change GAN training; model 'vae_mlp' built VaeParts"):
        build_member(with_remedy, CPU)
