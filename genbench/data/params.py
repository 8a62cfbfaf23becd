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


class DigitsParams(StrictModel):
    """scikit-learn's 8x8 digits, upsampled; the split is stratified and fixed by ``split_seed``."""

    size: int = Field(16, ge=8, le=64, description="image side after bilinear upsampling (pixels)")
    split_seed: int = Field(0, ge=0, description="seed of the stratified train/test split")
    test_fraction: float = Field(0.25, gt=0, lt=1, description="share of images held out")
