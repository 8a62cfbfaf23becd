"""Parameters of the Dirac-GAN model (torch-free, so suites validate without torch)."""

from __future__ import annotations

from pydantic import Field

from genbench.models.params import ModelParams


class DiracGanParams(ModelParams):
    """The initial point of training. It is a setting, not drawn at random, as in the paper's
    figures (Mescheder et al. 2018 start every method at (1, 1)): seeds differ only in the
    randomness of training itself (instance noise)."""

    theta_init: float = Field(1.0, description="initial generator parameter theta: G(z) = theta")
    psi_init: float = Field(1.0, description="initial discriminator parameter psi: D(x) = psi * x")
