"""VAEs (Kingma & Welling 2014): a Gaussian encoder and a Bernoulli or Gaussian decoder.

The encoder gives q(z|x) = N(mean(x), diag(exp(log_var(x)))). The decoder's likelihood p(x|z) is a
parameter, because it decides what "reconstruction" means:

- ``bernoulli``: data x in [-1, 1] is mapped to targets t = (x + 1) / 2 in [0, 1], and
  log p(x|z) = sum_i t_i log p_i + (1 - t_i) log(1 - p_i), with p = sigmoid(logits). For grey values
  this is the usual binary cross-entropy rather than a normalised density (Loaiza-Ganem &
  Cunningham 2019), so its nats are comparable between models, not with other likelihoods.
- ``gaussian``: N(x; mean(z), sigma^2 I) on x in [-1, 1], with mean = tanh(network) and one learned
  log sigma (the calibrated decoder of Rybkin et al. 2021), kept at least MIN_STD.

Either decoder's forward pass is its mean mapped to [-1, 1], which makes the decoder the VAE's
generator for evaluation. Both model entries build ``VaeParts``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genbench.models.broadcast import member_view
from genbench.models.dcgan import conv_decoder, conv_encoder
from genbench.models.mlp import mlp
from genbench.models.parts import VaeParts

#: a density sharper than half an 8-bit quantisation step (on the [-1, 1] scale) would reward
#: memorising exact pixel values, such as the constant background of digits
MIN_STD = 1 / 255
#: log of the standard normal density's normaliser, sqrt(2 pi)
HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


def reparameterise(mean: torch.Tensor, log_var: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """z = mean + std * noise (Kingma & Welling 2014): a draw from q(z|x) that gradients flow
    through; ``noise`` is standard normal, of the shape of mean or with leading sample dimensions."""
    return mean + (0.5 * log_var).exp() * noise


class GaussianEncoder(nn.Module):
    """x -> (mean, log variance) of q(z|x), from a network with 2 * latent_dim outputs.

    Like the decoders, it treats every leading dimension as a batch dimension, so that an
    ensemble's members stack (genbench.models.stacking)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.network(x).chunk(2, dim=-1)
        return mean, log_var


class BernoulliDecoder(nn.Module):
    """p(x|z) Bernoulli on the targets (x + 1) / 2; the network gives the logits."""

    likelihood = "bernoulli"

    def __init__(self, network: nn.Module, sample_dims: int) -> None:
        super().__init__()
        self.network = network
        #: the number of trailing dimensions of one sample, summed over in log p(x|z)
        self.sample_dims = sample_dims

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return 2 * torch.sigmoid(self.network(z)) - 1

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        targets = (x + 1) / 2
        cross_entropy = F.binary_cross_entropy_with_logits(self.network(z), targets, reduction="none")
        return -cross_entropy.flatten(-self.sample_dims).sum(-1)


class GaussianDecoder(nn.Module):
    """p(x|z) = N(x; tanh(network(z)), sigma^2 I) with one learned log sigma."""

    likelihood = "gaussian"

    def __init__(self, network: nn.Module, sample_dims: int) -> None:
        super().__init__()
        self.network = network
        self.sample_dims = sample_dims
        self.log_std = nn.Parameter(torch.zeros(()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.network(z))

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        log_std = member_view(self.log_std, x).clamp(min=math.log(MIN_STD))
        standardised = (x - self(z)) * torch.exp(-log_std)
        log_density = -0.5 * standardised**2 - log_std - HALF_LOG_TWO_PI
        return log_density.flatten(-self.sample_dims).sum(-1)


DECODERS = {"bernoulli": BernoulliDecoder, "gaussian": GaussianDecoder}


def build_vae_mlp(
    data_shape: tuple[int, ...],
    latent_dim: int,
    hidden: int,
    depth: int,
    likelihood: str,
) -> VaeParts:
    """MLP encoder and decoder over the flattened data, for any data shape."""
    size = math.prod(data_shape)
    flatten = nn.Flatten(-len(data_shape))
    encoder = GaussianEncoder(nn.Sequential(flatten, mlp(size, hidden, depth, 2 * latent_dim, nn.ReLU)))
    decoder_network = nn.Sequential(
        mlp(latent_dim, hidden, depth, size, nn.ReLU), nn.Unflatten(-1, tuple(data_shape))
    )
    decoder = DECODERS[likelihood](decoder_network, len(data_shape))
    return VaeParts(encoder=encoder, decoder=decoder, latent_dim=latent_dim)


def build_vae_conv(
    data_shape: tuple[int, ...],
    latent_dim: int,
    base_channels: int,
    likelihood: str,
) -> VaeParts:
    """DCGAN-shaped convolutional encoder and decoder, without normalisation layers, so that a
    trained VAE's held-out ELBO does not depend on batch statistics."""
    encoder_network = conv_encoder(
        data_shape, base_channels, 2 * latent_dim, batch_norm=False, spectral=False, model="vae_conv"
    )
    decoder_network = conv_decoder(latent_dim, data_shape, base_channels, batch_norm=False, model="vae_conv")
    return VaeParts(
        encoder=GaussianEncoder(encoder_network),
        decoder=DECODERS[likelihood](decoder_network, len(data_shape)),
        latent_dim=latent_dim,
    )
