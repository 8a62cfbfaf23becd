"""Parameters of the built-in datasets (torch-free, so suites validate without importing torch).

Each also states what a trial's memory estimate needs to know of its data, as lower bounds: the
shape of one sample, the reference samples an evaluation really holds, and the known modes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from genbench.settings import FieldProblem, StrictModel, is_folder, short, suite_relative

#: images in scikit-learn's digits
DIGITS_IMAGES = 1797
#: the smallest image side where a suite keeps the stored size (unknown until the files are read)
SMALLEST_SIDE = 1


class DatasetParams(StrictModel):
    """What every dataset's parameters tell a memory estimate (before anything is loaded)."""

    def sample_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def reference_count(self, requested: int) -> int:
        """Reference samples an evaluation holds when ``requested`` are asked for."""
        return requested

    def mode_count(self) -> int:
        """Known mode centres, which the mode metric measures every sample against (0: none)."""
        return 0


class RingParams(DatasetParams):
    """``modes`` Gaussians with centres evenly spaced on a circle (Metz et al. 2017, VEEGAN, PacGAN)."""

    modes: int = Field(8, ge=2, description="number of mixture components")
    radius: float = Field(2.0, gt=0, description="radius of the circle the centres lie on")
    std: float = Field(0.02, gt=0, description="standard deviation of each component")

    def sample_shape(self) -> tuple[int, ...]:
        return (2,)

    def mode_count(self) -> int:
        return self.modes


class GridParams(DatasetParams):
    """``side`` x ``side`` Gaussians on a square grid centred at the origin (VEEGAN, PacGAN)."""

    side: int = Field(5, ge=2, description="components per side (modes = side**2)")
    spacing: float = Field(2.0, gt=0, description="distance between neighbouring centres")
    std: float = Field(0.05, gt=0, description="standard deviation of each component")

    def sample_shape(self) -> tuple[int, ...]:
        return (2,)

    def mode_count(self) -> int:
        return self.side**2


class DigitsParams(DatasetParams):
    """scikit-learn's 8x8 digits, upsampled; the split is stratified and fixed by ``split_seed``."""

    size: int = Field(16, ge=8, le=64, description="image side after bilinear upsampling (pixels)")
    split_seed: int = Field(0, ge=0, description="seed of the stratified train/test split")
    test_fraction: float = Field(0.25, gt=0, lt=1, description="share of images held out")

    def sample_shape(self) -> tuple[int, ...]:
        return (1, self.size, self.size)

    def reference_count(self, requested: int) -> int:
        """References are distinct held-out images, so never more than the test split holds."""
        return min(requested, math.ceil(DIGITS_IMAGES * self.test_fraction))


class StackedDigitsParams(DigitsParams):
    """Digits stacked three deep as R, G, B; references are fresh stacks, as many as asked for."""

    def sample_shape(self) -> tuple[int, ...]:
        return (3, self.size, self.size)

    def reference_count(self, requested: int) -> int:
        return requested


class ImageParams(DatasetParams):
    """Where images are, and how they are decoded, split and kept: shared by the image datasets."""

    root: str = Field(description="folder holding the images or the dataset's files, relative to the suite")
    size: int | None = Field(
        None,
        ge=4,
        le=1024,
        description="resize the shorter side to this and centre-crop to size x size (pixels); "
        "none keeps the stored size, which must then be the same for every image",
    )
    channels: Literal[1, 3] | None = Field(
        None, description="1 (grayscale) or 3 (RGB); none keeps grayscale images gray, others RGB"
    )
    test_fraction: float = Field(
        0.1, gt=0, lt=1, description="share held out as the reference set where the data has no test split"
    )
    split_seed: int = Field(0, ge=0, description="seed of that hold-out split")
    max_cached_mb: float = Field(
        4096,
        ge=0,
        description="decoded uint8 images up to this size (MiB) stay in memory; larger sets are "
        "decoded from disk at every draw",
    )

    @field_validator("root")
    @classmethod
    def resolve_against_suite(cls, root: str, info: ValidationInfo) -> str:
        """Relative to the suite file, made absolute; the folder may not exist yet (download)."""
        return str(suite_relative(root, info))

    def sample_shape(self) -> tuple[int, ...]:
        """Gray and the smallest side where the suite does not say: a lower bound, never too big."""
        side = self.size or SMALLEST_SIDE
        return (self.channels or 1, side, side)


class TorchvisionParams(ImageParams):
    """Any ``torchvision.datasets`` class by name, read from a local ``root``."""

    name: str = Field(description="class in torchvision.datasets: CIFAR10, MNIST, FashionMNIST, CelebA, ...")
    download: bool = Field(
        False, description="let torchvision fetch missing files (needs internet; off so runs stay offline)"
    )
    train_split: str = Field("train", description="split drawn for training (train=True or split=...)")
    test_split: str = Field("test", description="held-out split drawn for references and VAE metrics")
    options: dict[str, Any] = Field(
        default_factory=dict, description="further keyword arguments of the class (e.g. CelebA target_type)"
    )

    @model_validator(mode="after")
    def root_exists_unless_downloaded(self) -> TorchvisionParams:
        """Nothing fetches the files when ``download`` is off, so a missing root could only fail
        the run; say so now."""
        if not self.download and not is_folder(Path(self.root)):
            raise FieldProblem(
                "root",
                f"no folder at {short(self.root)}; put the {short(self.name)} files there "
                "(torchvision's layout) or set download: true to let torchvision fetch them",
            )
        return self


class ImageFolderParams(ImageParams):
    """Every image file under a folder (searched recursively), with a seeded hold-out split."""

    channels: Literal[1, 3] = Field(3, description="1 (grayscale) or 3 (RGB)")

    @field_validator("root")
    @classmethod
    def existing_folder(cls, root: str) -> str:
        """Runs after the base class made ``root`` absolute; nothing is ever downloaded here."""
        if not is_folder(Path(root)):
            raise ValueError(f"no image folder at {short(root)}")
        return root
