"""Parameters of the built-in datasets (torch-free, so suites validate without importing torch)."""

from pydantic import Field

from genbench.settings import StrictModel


class RingParams(StrictModel):
    """``modes`` Gaussians with centres evenly spaced on a circle (Metz et al. 2017, VEEGAN, PacGAN)."""

    modes: int = Field(8, ge=2, description="number of mixture components")
    radius: float = Field(2.0, gt=0, description="radius of the circle the centres lie on")
    std: float = Field(0.02, gt=0, description="standard deviation of each component")


class GridParams(StrictModel):
    """``side`` x ``side`` Gaussians on a square grid centred at the origin (VEEGAN, PacGAN)."""

    side: int = Field(5, ge=2, description="components per side (modes = side**2)")
    spacing: float = Field(2.0, gt=0, description="distance between neighbouring centres")
    std: float = Field(0.05, gt=0, description="standard deviation of each component")
