"""DCGAN's convolutional generator and discriminator (Radford et al. 2016), sized by parameter.

The generator maps z to a 4x4 map with one transposed convolution and doubles the side with each
further stride-2 transposed convolution; the discriminator mirrors it with stride-2 convolutions
down to 4x4 and a final 4x4 convolution to one logit. So any square side that is a power of two
from 8 up works (16, 32, 64 px ...), with ``base_channels`` at the full resolution and twice as
many at every halving. ReLU in the generator, LeakyReLU(0.2) in the discriminator, tanh output in
[-1, 1], weights drawn from N(0, 0.02), all as in the paper.

The discriminator's normalisation is a choice because the losses need different ones: batch norm
(DCGAN), spectral norm on every convolution (Miyato et al. 2018, SNGAN), or none (WGAN-GP's
critic, whose per-example gradient penalty batch norm would break, Gulrajani et al. 2017). Only
convolutions, batch norm and pointwise activations are used, so the networks run in channels-last
memory format unchanged; the decoder and encoder trunks are reused by the convolutional VAE.

``minibatch_std`` adds ProGAN's minibatch standard deviation before the discriminator's last
convolution (Karras et al. 2018), a remedy for mode collapse; like batch norm it makes a sample's
logit depend on the others of its group.
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from genbench.errors import GenbenchError
from genbench.models.minibatch_std import MinibatchStd
from genbench.models.params import DcganParams
from genbench.models.parts import GanParts

#: the side of the smallest feature map, where the generator starts and the discriminator ends
START_SIDE = 4
INIT_STD = 0.02


def halvings(data_shape: tuple[int, ...], model: str) -> int:
    """Stride-2 stages between START_SIDE and the image side, or a clear error for other shapes."""
    side = data_shape[-1]
    valid = len(data_shape) == 3 and data_shape[1] == side and side >= 2 * START_SIDE
    if not valid or side & (side - 1):
        raise GenbenchError(
            f"model '{model}' needs square images whose side is a power of two of at least "
            f"{2 * START_SIDE} (16, 32, 64 ...), got data of shape {tuple(data_shape)}; "
            "set the dataset's size"
        )
    return int(math.log2(side // START_SIDE))


def dcgan_init(module: nn.Module) -> None:
    """Convolutions from N(0, 0.02), batch-norm scales from N(1, 0.02), biases zero (DCGAN)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, INIT_STD)
        nn.init.zeros_(module.bias)


def conv_decoder(
    latent_dim: int, data_shape: tuple[int, ...], base_channels: int, batch_norm: bool, model: str
) -> nn.Sequential:
    """z (N, latent_dim) -> (N, C, H, W) before any output activation."""
    stages = halvings(data_shape, model)
    width = base_channels * 2 ** (stages - 1)
    layers: list[nn.Module] = [nn.Unflatten(1, (latent_dim, 1, 1))]
    layers += [nn.ConvTranspose2d(latent_dim, width, START_SIDE, 1, 0, bias=not batch_norm)]
    for _ in range(stages - 1):
        layers += [nn.BatchNorm2d(width)] if batch_norm else []
        layers += [nn.ReLU(), nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=not batch_norm)]
        width //= 2
    layers += [nn.BatchNorm2d(width)] if batch_norm else []
    layers += [nn.ReLU(), nn.ConvTranspose2d(width, data_shape[0], 4, 2, 1)]
    network = nn.Sequential(*layers)
    network.apply(dcgan_init)
    return network


def downsampling_layers(
    data_shape: tuple[int, ...], base_channels: int, batch_norm: bool, model: str
) -> tuple[list[nn.Module], int]:
    """Stride-2 convolutions from the image down to START_SIDE x START_SIDE, and the channels they
    end with; no batch norm on the first layer, as in DCGAN."""
    stages = halvings(data_shape, model)
    width_in, width = data_shape[0], base_channels
    layers: list[nn.Module] = []
    for stage in range(stages):
        normalised = batch_norm and stage > 0
        layers += [nn.Conv2d(width_in, width, 4, 2, 1, bias=not normalised)]
        layers += [nn.BatchNorm2d(width)] if normalised else []
        layers += [nn.LeakyReLU(0.2)]
        width_in, width = width, width * 2
    return layers, width_in


def initialised(layers: list[nn.Module], spectral: bool) -> nn.Sequential:
    """The layers as one network with DCGAN's initial weights, spectral norm on every convolution
    when asked."""
    network = nn.Sequential(*layers)
    network.apply(dcgan_init)
    if spectral:
        for module in network.modules():
            if isinstance(module, nn.Conv2d):
                spectral_norm(module)
    return network


def conv_encoder(
    data_shape: tuple[int, ...],
    base_channels: int,
    outputs: int,
    batch_norm: bool,
    spectral: bool,
    model: str,
) -> nn.Sequential:
    """(N, C, H, W) -> (N, outputs)."""
    layers, width = downsampling_layers(data_shape, base_channels, batch_norm, model)
    return initialised([*layers, nn.Conv2d(width, outputs, START_SIDE, 1, 0), nn.Flatten()], spectral)


def dcgan_discriminator(
    data_shape: tuple[int, ...], base_channels: int, norm: str, minibatch_group: int | None
) -> nn.Sequential:
    """Image (N, C, H, W) -> one logit per image (N,). With ``minibatch_group``, the last
    convolution also reads the minibatch standard deviation as one more channel (Karras et al.
    2018, ``genbench.models.minibatch_std``), at 4x4 as in ProGAN."""
    layers, width = downsampling_layers(data_shape, base_channels, norm == "batch", "dcgan")
    if minibatch_group is not None:
        layers.append(MinibatchStd(minibatch_group, feature_dims=3))
        width += 1
    head = [nn.Conv2d(width, 1, START_SIDE, 1, 0), nn.Flatten()]
    return nn.Sequential(initialised([*layers, *head], spectral=norm == "spectral"), nn.Flatten(0))


def build_dcgan(data_shape: tuple[int, ...], **params: Any) -> GanParts:
    """Generator z -> image in [-1, 1]; discriminator image -> one logit per image, shape (N,).
    ``params`` are resolved through ``DcganParams`` (a trial's spec leaves out the settings added
    later while they hold their defaults)."""
    settings = DcganParams(**params)
    generator = nn.Sequential(
        conv_decoder(
            settings.latent_dim, data_shape, settings.base_channels, settings.generator_batch_norm, "dcgan"
        ),
        nn.Tanh(),
    )
    discriminator = dcgan_discriminator(
        data_shape,
        settings.base_channels,
        settings.discriminator_norm,
        settings.minibatch_group if settings.minibatch_std else None,
    )
    return GanParts(generator=generator, discriminator=discriminator, latent_dim=settings.latent_dim)
