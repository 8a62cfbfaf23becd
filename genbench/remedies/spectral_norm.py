"""Spectral normalisation of every Linear and convolution weight of the discriminator, any one.

Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks" (ICLR): dividing
each layer's weight by its largest singular value sigma(W) bounds the discriminator's Lipschitz
constant by 1 (with 1-Lipschitz activations), which keeps its gradients informative and training
stable without a penalty term. sigma is estimated by power iteration: a vector u per layer, refined
by ``power_iterations`` steps at every forward pass in training (they used one), kept across steps
as the weights change slowly. A convolution's weight is normalised as the matrix
[out_channels, in_channels * kernel], as in the paper.

torch's ``torch.nn.utils.parametrizations.spectral_norm`` cannot run under ``torch.func.vmap`` (its
power iteration writes with ``out=`` arguments), so an ensemble of its networks cannot be vmapped.
``SpectralNormalisation`` is the same estimate in plain operations, registered with
``torch.nn.utils.parametrize``: u and v are buffers updated in place, in training mode only, so
under vmap each member refines its own. Their initial values come from the member's seeded stream,
drawn on the CPU when its networks are built, so a member alone and in an ensemble start the same.
Parametrized networks do not stack leaf by leaf; they run vmapped (``genbench.models.stacking``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from genbench.errors import GenbenchError
from genbench.models.parts import GanParts
from genbench.remedies.base import Remedy
from genbench.train.streams import SPECTRAL_NORM_STREAM

#: the layers whose weight is normalised: out features or channels first
NORMALISED_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
#: power iterations at registration, so that the first steps use a good estimate (as torch's does)
INITIAL_ITERATIONS = 15
#: keeps the normalisation of a vector defined when it is zero
EPS = 1e-12


class SpectralNorm(Remedy):
    """``spectral_norm``: every Linear and convolution weight of the discriminator divided by its
    spectral norm."""

    def __init__(self, power_iterations: int) -> None:
        self.power_iterations = power_iterations

    def prepare_member(self, networks: GanParts, seed: int) -> None:
        discriminator = networks.discriminator
        layers = [module for module in discriminator.modules() if isinstance(module, NORMALISED_LAYERS)]
        if not layers:
            raise GenbenchError(
                "spectral_norm found no Linear or convolution layer in the discriminator to normalise"
            )
        start = torch.Generator().manual_seed(seed + SPECTRAL_NORM_STREAM)
        for layer in layers:
            if parametrize.is_parametrized(layer, "weight"):
                raise GenbenchError(
                    f"spectral_norm: the discriminator's {type(layer).__name__} weight is already "
                    "parametrized (normalised by the model itself?); drop the remedy or that setting"
                )
            normalisation = SpectralNormalisation(layer.weight.detach(), self.power_iterations, start)
            parametrize.register_parametrization(layer, "weight", normalisation)


class SpectralNormalisation(nn.Module):
    """W / sigma(W), sigma estimated by power iteration on W as a matrix [rows, columns]."""

    def __init__(self, weight: torch.Tensor, power_iterations: int, start: torch.Generator) -> None:
        super().__init__()
        self.power_iterations = power_iterations
        matrix = weight.flatten(1)
        rows, columns = matrix.shape
        self.register_buffer("u", F.normalize(torch.randn(rows, generator=start), dim=0, eps=EPS))
        self.register_buffer("v", F.normalize(torch.randn(columns, generator=start), dim=0, eps=EPS))
        self.refine(matrix, INITIAL_ITERATIONS)

    @torch.no_grad()
    def refine(self, matrix: torch.Tensor, iterations: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Power iteration: v <- W^T u / |W^T u|, u <- W v / |W v|; the new u and v are written
        into the buffers and returned as tensors of their own, which a backward pass may keep while
        the next pass refines the buffers again."""
        u, v = self.u, self.v
        for _ in range(iterations):
            v = F.normalize(matrix.t() @ u, dim=0, eps=EPS)
            u = F.normalize(matrix @ v, dim=0, eps=EPS)
        self.u.copy_(u)
        self.v.copy_(v)
        return u, v

    def sigma(self, matrix: torch.Tensor) -> torch.Tensor:
        """The current estimate of the largest singular value, u^T W v."""
        return self.u @ (matrix @ self.v)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        # fp32 under bf16 autocast too: sigma divides every weight of the layer
        with torch.autocast(weight.device.type, enabled=False):
            matrix = weight.flatten(1)
            u, v = self.refine(matrix, self.power_iterations) if self.training else (self.u, self.v)
            # differentiable in W only: u and v are constants of the pass, as in the paper
            return weight / (u @ (matrix @ v))
