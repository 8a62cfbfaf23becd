"""Parameters of the built-in metrics (torch-free)."""

from pydantic import Field

from genbench.settings import StrictModel


class ModesParams(StrictModel):
    min_count: int = Field(
        1,
        ge=1,
        description="high-quality samples a mode needs to count as covered (1 as in VEEGAN)",
    )
    quality_radius: float = Field(
        3.0, gt=0, description="a sample is high quality within this many std of its nearest centre"
    )


class PrdcParams(StrictModel):
    k_precision_recall: int = Field(3, ge=1, description="k of the k-NN radii for precision/recall")
    k_density_coverage: int = Field(5, ge=1, description="k of the k-NN radii for density/coverage")
