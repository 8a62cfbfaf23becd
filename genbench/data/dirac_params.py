"""Parameters of the Dirac-GAN's point-mass dataset (torch-free, so suites validate without torch)."""

from __future__ import annotations

from pydantic import Field

from genbench.data.params import DatasetParams


class DiracParams(DatasetParams):
    """A point mass at 0 in one dimension (Mescheder et al. 2018)."""

    tolerance: float = Field(
        0.01,
        gt=0,
        description="scale within which a generated sample counts as on the point for the 'modes' "
        "metric (its mode_std; a point mass has no spread of its own)",
    )

    def sample_shape(self) -> tuple[int, ...]:
        return (1,)

    def mode_count(self) -> int:
        return 1
