"""Parameters of the built-in losses and penalties (torch-free)."""

from pydantic import Field

from genbench.settings import StrictModel


class NoParams(StrictModel):
    """This entry takes no parameters."""


class WganParams(StrictModel):
    clip: float = Field(0.01, gt=0, description="critic weights are clipped to [-clip, clip]")


class WganGpParams(StrictModel):
    gp_weight: float = Field(10.0, ge=0, description="weight of the gradient penalty (lambda)")


class R1Params(StrictModel):
    gamma: float = Field(10.0, ge=0, description="R1 weight: gamma/2 * E||grad D(real)||^2")


class R2Params(StrictModel):
    gamma: float = Field(10.0, ge=0, description="R2 weight: gamma/2 * E||grad D(fake)||^2")


class RpGanParams(StrictModel):
    """RpGAN's penalty weight. The default is R3GAN's for its smallest images (CIFAR-10, 32x32;
    Huang et al. 2024 start there and decay it tenfold; larger images take more: 2 at FFHQ 64x64,
    150 at 256x256). On the 8-mode ring (std 0.05, mlp_gan 64x2, 800 steps, 3 seeds) gamma 0.01,
    0.05 and 0.1 covered all 8 modes with a mode KL of 0.06 to 0.11 (ns: 0.18); gamma 1 and 10
    lost modes on some seeds (up to 3) and most high-quality samples (0.20 and 0.11 of them, ns
    0.47): a 2-D discriminator must be steep between sharp modes, which a large penalty forbids."""

    gamma: float = Field(
        0.05,
        ge=0,
        description="weight of the R1 and R2 penalties the loss comes with, each gamma/2 * "
        "E||grad D||^2 (R3GAN: 0.05 at 32x32, more for larger images; 0: none)",
    )


class GradientPenaltyParams(StrictModel):
    weight: float = Field(
        10.0, ge=0, description="weight (lambda) of E(||grad D(x_hat)|| - 1)^2 on real-fake interpolates"
    )


class ElboParams(StrictModel):
    warmup_steps: int = Field(
        0, ge=0, description="updates over which the KL weight rises linearly from 0 to 1 (0: none)"
    )


class BetaVaeParams(StrictModel):
    beta: float = Field(4.0, gt=0, description="weight of the KL term (Higgins et al. 2017: beta > 1)")
    warmup_steps: int = Field(
        0, ge=0, description="updates over which the KL weight rises linearly from 0 to beta (0: none)"
    )
