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
