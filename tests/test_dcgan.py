"""DCGAN: shapes at every supported size, normalisation options, training with every GAN loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from genbench.catalog import DATASETS, LOSSES, MODELS
from genbench.errors import GenbenchError
from genbench.losses.gan import NonSaturatingLoss
from genbench.models.stacking import stack_networks
from genbench.optim import build_optimizer
from genbench.train.gan import GanStep, gan_hooks

from .components import built, streams

SMALL = {"latent_dim": 8, "base_channels": 8}


def build_dcgan(data_shape: tuple[int, ...], **params):
    return built(MODELS, "dcgan", data_shape, **params)


@pytest.mark.parametrize("side", [16, 32, 64])
def test_generator_and_discriminator_shapes(side):
    torch.manual_seed(0)
    parts = build_dcgan((3, side, side), **SMALL)
    images = parts.generator(torch.randn(4, 8))
    assert images.shape == (4, 3, side, side)
    assert images.abs().max() <= 1
    assert parts.discriminator(images).shape == (4,)


def convolutions(module: nn.Module) -> list[nn.Module]:
    return [layer for layer in module.modules() if isinstance(layer, nn.Conv2d)]


def test_spectral_norm_on_every_discriminator_convolution_when_asked():
    parts = build_dcgan((1, 16, 16), discriminator_norm="spectral", **SMALL)
    layers = convolutions(parts.discriminator)
    assert layers and all(parametrize.is_parametrized(layer, "weight") for layer in layers)
    assert not any(isinstance(layer, nn.BatchNorm2d) for layer in parts.discriminator.modules())


def test_no_spectral_norm_unless_asked():
    for norm in ("batch", "none"):
        layers = convolutions(build_dcgan((1, 16, 16), discriminator_norm=norm, **SMALL).discriminator)
        assert not any(parametrize.is_parametrized(layer, "weight") for layer in layers)


def test_batch_norm_is_optional_in_each_network():
    def has_batch_norm(module: nn.Module) -> bool:
        return any(isinstance(layer, nn.BatchNorm2d) for layer in module.modules())

    dcgan = build_dcgan((1, 16, 16), **SMALL)
    plain = build_dcgan((1, 16, 16), generator_batch_norm=False, discriminator_norm="none", **SMALL)
    assert has_batch_norm(dcgan.generator) and has_batch_norm(dcgan.discriminator)
    assert not has_batch_norm(plain.generator) and not has_batch_norm(plain.discriminator)


def test_sides_that_are_not_a_power_of_two_are_a_clear_error():
    with pytest.raises(GenbenchError, match="power of two"):
        build_dcgan((1, 28, 28), **SMALL)


def test_channels_last_gives_the_same_outputs():
    torch.manual_seed(0)
    parts = build_dcgan((3, 16, 16), **SMALL)
    parts.generator.eval()
    parts.discriminator.eval()
    z = torch.randn(4, 8)
    images = parts.generator(z)
    logits = parts.discriminator(images)
    parts.generator.to(memory_format=torch.channels_last)
    parts.discriminator.to(memory_format=torch.channels_last)
    assert torch.allclose(parts.generator(z), images, atol=1e-5)
    assert torch.allclose(
        parts.discriminator(images.to(memory_format=torch.channels_last)), logits, atol=1e-5
    )


def gan_step(loss, discriminator_norm: str = "batch", optimizer: str = "adam") -> GanStep:
    torch.manual_seed(0)
    dataset = built(DATASETS, "digits", size=16)
    parts = build_dcgan(dataset.shape, discriminator_norm=discriminator_norm, **SMALL)
    return GanStep(
        networks=stack_networks([parts]),
        datasets=[dataset],
        loss=loss,
        hooks=gan_hooks(loss, penalty=None),
        generator_optimizer=build_optimizer(
            optimizer, {"lr": 1e-3}, "generator", parts.generator.parameters()
        ),
        discriminator_optimizer=build_optimizer(
            optimizer, {"lr": 1e-3}, "discriminator", parts.discriminator.parameters()
        ),
        batch_size=8,
        d_steps=1,
        streams=streams(1, 2),
    )


def trains(step: GanStep) -> None:
    before = [parameter.detach().clone() for parameter in step.networks.generator.parameters()]
    signals = torch.stack([step() for _ in range(3)])
    after = list(step.networks.generator.parameters())
    assert torch.isfinite(signals).all()
    assert any(not torch.equal(old, new) for old, new in zip(before, after, strict=True))


@pytest.mark.parametrize(
    ("loss", "discriminator_norm"),
    [
        ("ns", "batch"),
        ("minimax", "batch"),
        ("wgan", "batch"),
        ("wgan-gp", "none"),
        ("hinge", "spectral"),
        ("lsgan", "batch"),
    ],
)
def test_dcgan_trains_with_every_gan_loss(loss, discriminator_norm):
    trains(gan_step(built(LOSSES, loss), discriminator_norm))


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "rmsprop", "sgd"])
def test_dcgan_trains_with_every_optimizer(optimizer):
    trains(gan_step(NonSaturatingLoss(), optimizer=optimizer))
