"""VAEs: objectives against hand computations, the IWAE bound, active units under posterior
collapse, and the training loop on digits."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.distributions import Normal

from genbench.catalog import DATASETS, METRICS, MODELS
from genbench.errors import GenbenchError
from genbench.losses.vae import BetaVae, Elbo, elbo_terms, gaussian_kl, noise_from
from genbench.metrics.keys import (
    KEY_ACTIVE_UNITS,
    KEY_BETA,
    KEY_HELDOUT_ELBO,
    KEY_IWAE_LOG_LIKELIHOOD,
    KEY_KL,
    KEY_RECONSTRUCTION,
    KEY_VAE_GRAD_NORM,
    KEY_VAE_LOSS,
)
from genbench.metrics.vae import iwae_bound, log_importance_weights
from genbench.models.checkpoint import networks_of
from genbench.models.parts import VaeParts
from genbench.models.stacking import stack_networks
from genbench.models.vae import MIN_STD, BernoulliDecoder, GaussianDecoder, GaussianEncoder
from genbench.spec import ComponentSpec, TrainSpec, TrialSpec
from genbench.train.build import TrialParts
from genbench.train.evaluation import generate
from genbench.train.loop import Divergence, WindowSignals
from genbench.train.step import TrainingStep
from genbench.train.trial import training_events
from genbench.train.vae import SIGNALS

from .components import built

CPU = torch.device("cpu")


def rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def linear(weight: list[list[float]], bias: list[float]) -> nn.Linear:
    layer = nn.Linear(len(weight[0]), len(weight)).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight, dtype=torch.float64))
        layer.bias.copy_(torch.tensor(bias, dtype=torch.float64))
    return layer


def tiny_vae(decoder_class: type = BernoulliDecoder) -> VaeParts:
    """2-D data, 1 latent: encoder [mean, log_var] = W x + b, decoder logits/means = V z + c."""
    encoder = GaussianEncoder(linear([[0.5, -1.0], [0.0, 0.2]], [0.1, -0.3]))
    decoder = decoder_class(linear([[2.0], [-1.0]], [0.0, 0.5]), 1)
    return VaeParts(encoder=encoder, decoder=decoder.double(), latent_dim=1)


X = [[0.2, -0.6], [-1.0, 1.0]]


def hand_terms(x: list[float], eps: float) -> tuple[float, float]:
    """(reconstruction, KL) of tiny_vae with a Bernoulli decoder, from the formulas."""
    mean = 0.5 * x[0] - 1.0 * x[1] + 0.1
    log_var = 0.2 * x[1] - 0.3
    z = mean + math.exp(0.5 * log_var) * eps
    probabilities = [1 / (1 + math.exp(-logit)) for logit in (2.0 * z, -1.0 * z + 0.5)]
    targets = [(value + 1) / 2 for value in x]
    log_likelihood = sum(
        t * math.log(p) + (1 - t) * math.log(1 - p) for t, p in zip(targets, probabilities, strict=True)
    )
    kl = 0.5 * (mean**2 + math.exp(log_var) - 1 - log_var)
    return -log_likelihood, kl


def test_elbo_terms_match_hand_computation():
    eps = torch.randn((2, 1), generator=rng(), dtype=torch.float64).flatten().tolist()
    terms = elbo_terms(tiny_vae(), torch.tensor(X, dtype=torch.float64), noise_from(rng()))
    expected = [hand_terms(x, e) for x, e in zip(X, eps, strict=True)]
    assert terms.reconstruction.tolist() == pytest.approx([r for r, _ in expected], rel=1e-12)
    assert terms.kl.tolist() == pytest.approx([k for _, k in expected], rel=1e-12)


def test_elbo_and_beta_vae_objectives_weight_the_kl_by_beta():
    terms = elbo_terms(tiny_vae(), torch.tensor(X, dtype=torch.float64), noise_from(rng()))
    expected = [
        hand_terms(x, e) for x, e in zip(X, torch.randn(2, generator=rng(), dtype=torch.float64), strict=True)
    ]
    elbo_loss = sum(r + k for r, k in expected) / 2
    beta_loss = sum(r + 4.0 * k for r, k in expected) / 2
    assert Elbo(warmup_steps=0).loss(terms, update=0).item() == pytest.approx(elbo_loss, rel=1e-12)
    assert BetaVae(beta=4.0, warmup_steps=0).loss(terms, update=0).item() == pytest.approx(
        beta_loss, rel=1e-12
    )


def test_gaussian_kl_in_closed_form():
    mean = torch.tensor([[0.0, 0.0], [1.0, -2.0]], dtype=torch.float64)
    log_var = torch.tensor([[0.0, 0.0], [math.log(4.0), 0.0]], dtype=torch.float64)
    expected = [0.0, 0.5 * (1 + 4 - 1 - math.log(4.0)) + 0.5 * 4]
    assert gaussian_kl(mean, log_var).tolist() == pytest.approx(expected, abs=1e-12)


def test_gaussian_decoder_log_likelihood_by_hand():
    parts = tiny_vae(GaussianDecoder)
    with torch.no_grad():
        parts.decoder.log_std.fill_(math.log(0.5))
    x, z = [0.2, -0.6], 0.3
    means = [math.tanh(2.0 * z), math.tanh(-1.0 * z + 0.5)]
    expected = sum(
        -0.5 * ((value - mean) / 0.5) ** 2 - math.log(0.5) - 0.5 * math.log(2 * math.pi)
        for value, mean in zip(x, means, strict=True)
    )
    actual = parts.decoder.log_likelihood(
        torch.tensor([x], dtype=torch.float64), torch.tensor([[z]], dtype=torch.float64)
    )
    assert actual.item() == pytest.approx(expected, rel=1e-12)


def test_gaussian_decoder_scale_has_a_floor():
    parts = tiny_vae(GaussianDecoder)
    with torch.no_grad():
        parts.decoder.log_std.fill_(-50.0)
    z = torch.zeros(1, 1, dtype=torch.float64)
    exact = parts.decoder(z)  # x equal to the mean: only the normalising constant remains
    expected = 2 * (-math.log(MIN_STD) - 0.5 * math.log(2 * math.pi))
    assert parts.decoder.log_likelihood(exact, z).item() == pytest.approx(expected, rel=1e-12)


def test_kl_warm_up_ramps_linearly_from_zero_to_beta():
    objective = BetaVae(beta=4.0, warmup_steps=10)
    assert [objective.kl_weight(update) for update in (0, 5, 10, 50)] == [0.0, 2.0, 4.0, 4.0]
    assert Elbo(warmup_steps=0).kl_weight(0) == 1.0
    assert Elbo(warmup_steps=4).kl_weight(1) == 0.25


def test_importance_weights_are_log_joint_minus_log_posterior():
    parts = tiny_vae()
    x = torch.tensor(X, dtype=torch.float64)
    weights = log_importance_weights(parts, x, k=3, generator=rng())
    mean, log_var = parts.encoder(x)
    std = (0.5 * log_var).exp()
    z = mean + std * torch.randn((3, 2, 1), generator=rng(), dtype=torch.float64)
    log_likelihood = torch.stack([parts.decoder.log_likelihood(x, draw) for draw in z])
    log_prior = Normal(0.0, 1.0).log_prob(z).sum(-1)
    log_posterior = Normal(mean, std).log_prob(z).sum(-1)
    assert torch.allclose(weights, log_likelihood + log_prior - log_posterior, rtol=1e-12)


def test_iwae_bound_with_one_sample_is_the_elbo_in_expectation():
    x = torch.tensor(X, dtype=torch.float64).repeat(20_000, 1)
    parts = tiny_vae()
    iwae = iwae_bound(parts, x, k=1, generator=rng(1)).mean().item()
    elbo = -elbo_terms(parts, x, noise_from(rng(2))).negative_elbo.mean().item()
    assert iwae == pytest.approx(elbo, abs=0.05)


@pytest.mark.parametrize("model", ["vae_mlp", "vae_conv"])
@pytest.mark.parametrize("side", [16, 32, 64])
def test_vae_generates_images_in_minus_one_to_one(model, side):
    parts = built(MODELS, model, (3, side, side), latent_dim=4, likelihood="gaussian")
    samples = generate(parts, parts.latents(5, rng()), (3, side, side))
    assert samples.shape == (5, 3, side, side) and samples.abs().max() <= 1
    assert parts.discriminator is None and parts.generator is parts.decoder
    assert parts.likelihood == "gaussian"


def test_mlp_vae_fits_vector_data():
    parts = built(MODELS, "vae_mlp", (2,), latent_dim=2)
    mean, log_var = parts.encoder(torch.randn(6, 2))
    assert mean.shape == log_var.shape == (6, 2)
    assert parts.decoder.log_likelihood(torch.rand(6, 2) * 2 - 1, mean).shape == (6,)


def test_checkpoints_hold_encoder_and_decoder():
    assert set(networks_of(built(MODELS, "vae_mlp", (1, 8, 8)))) == {"encoder", "decoder"}


def test_vae_metrics_refuse_a_gan():
    gan = built(MODELS, "dcgan", (1, 16, 16), latent_dim=4, base_channels=4)
    with pytest.raises(GenbenchError, match="measures a VAE"):
        built(METRICS, "vae")(torch.zeros(2, 1, 16, 16), torch.zeros(2, 1, 16, 16), None, networks=gan)


# --- training on digits ---------------------------------------------------------------------

DIGITS = built(DATASETS, "digits", size=16)
REFERENCE = DIGITS.reference(450, rng(7))
SMALL_MLP = {"latent_dim": 8, "hidden": 64, "depth": 1}


def spec(steps: int, eval_every: int, optimizer: ComponentSpec | None = None) -> TrialSpec:
    return TrialSpec(
        dataset=ComponentSpec(name="digits"),
        model=ComponentSpec(name="vae_mlp", params=SMALL_MLP),
        loss=ComponentSpec(name="elbo"),
        optimizer=optimizer or ComponentSpec(name="adam", params={"lr": 3e-3, "betas": [0.9, 0.999]}),
        train=TrainSpec(steps=steps, batch_size=64, eval_every=eval_every),
        metrics=(),
        seed=0,
    )


def train(parts: VaeParts, trial: TrialSpec, objective=None) -> list:
    trial_parts = TrialParts(DIGITS, parts, objective or Elbo(warmup_steps=0), penalty=None, metrics={})
    schedule = {
        trial.train.steps,
        *range(trial.train.eval_every, trial.train.steps + 1, trial.train.eval_every),
    }
    events = training_events(
        trial, [trial.seed], [trial_parts], stack_networks([parts]), CPU, schedule, print
    )
    return [
        (event.step, event.values[0]) if isinstance(event, WindowSignals) else event
        for event in events
        if not isinstance(event, TrainingStep)
    ]


class ConstantLogits(nn.Module):
    """A decoder network that ignores z: one learned image of logits for every latent."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(shape))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(z.shape[0], *self.logits.shape)


@pytest.fixture(scope="module")
def trained():
    """(VAE before training's held-out metrics, trained VAE, its training events)."""
    torch.manual_seed(0)
    parts = built(MODELS, "vae_mlp", DIGITS.shape, **SMALL_MLP)
    before = built(METRICS, "vae")(None, REFERENCE, DIGITS, networks=parts).values
    events = train(parts, spec(steps=120, eval_every=60))
    return before, parts, events


def test_short_training_on_digits_improves_heldout_elbo(trained):
    before, parts, events = trained
    after = built(METRICS, "vae")(None, REFERENCE, DIGITS, networks=parts).values
    assert [step for step, _ in events] == [60, 120]
    assert set(events[-1][1]) == {KEY_VAE_LOSS, KEY_RECONSTRUCTION, KEY_KL, KEY_BETA, KEY_VAE_GRAD_NORM}
    assert events[-1][1][KEY_VAE_LOSS] < events[0][1][KEY_VAE_LOSS]
    assert after[KEY_HELDOUT_ELBO] > before[KEY_HELDOUT_ELBO] + 30


def test_iwae_bound_is_at_least_the_elbo_and_grows_with_k(trained):
    _, parts, _ = trained
    elbo = built(METRICS, "vae")(None, REFERENCE, DIGITS, networks=parts).values[KEY_HELDOUT_ELBO]
    bounds = [
        built(METRICS, "iwae", k=k)(None, REFERENCE, DIGITS, networks=parts).values[KEY_IWAE_LOG_LIKELIHOOD]
        for k in (1, 5, 50)
    ]
    assert bounds[0] == pytest.approx(elbo, abs=0.5)
    assert elbo < bounds[1] < bounds[2]


def test_active_units_drop_when_the_decoder_ignores_z(trained):
    _, normal, _ = trained
    torch.manual_seed(0)
    collapsing = built(MODELS, "vae_mlp", DIGITS.shape, **SMALL_MLP)
    collapsing.decoder = BernoulliDecoder(ConstantLogits(DIGITS.shape), len(DIGITS.shape))
    train(collapsing, spec(steps=100, eval_every=100))
    active = {
        name: built(METRICS, "vae")(None, REFERENCE, DIGITS, networks=parts).values[KEY_ACTIVE_UNITS]
        for name, parts in (("normal", normal), ("collapsed", collapsing))
    }
    assert active["normal"] >= 4
    assert active["collapsed"] == 0


def test_warm_up_shows_in_the_beta_signal():
    torch.manual_seed(0)
    events = train(built(MODELS, "vae_mlp", DIGITS.shape, **SMALL_MLP), spec(20, 10), Elbo(warmup_steps=20))
    betas = [signals[KEY_BETA] for _, signals in events]
    assert betas == pytest.approx([sum(range(10)) / 10 / 20, sum(range(10, 20)) / 10 / 20])


def test_vae_training_is_deterministic():
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        runs.append(train(built(MODELS, "vae_mlp", DIGITS.shape, **SMALL_MLP), spec(10, 5)))
    assert runs[0] == runs[1]
    assert list(runs[0][0][1]) == list(SIGNALS)


def test_vae_divergence_is_reported():
    torch.manual_seed(0)
    events = train(
        built(MODELS, "vae_mlp", DIGITS.shape, **SMALL_MLP),
        spec(30, 30, ComponentSpec(name="sgd", params={"lr": 1e30})),
    )
    assert len(events) == 1 and isinstance(events[0], Divergence)
