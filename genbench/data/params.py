"""Parameters of the built-in datasets (torch-free, so suites validate without importing torch)."""

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from genbench.settings import StrictModel, suite_relative


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


class ImageParams(StrictModel):
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


class ImageFolderParams(ImageParams):
    """Every image file under a folder (searched recursively), with a seeded hold-out split."""

    channels: Literal[1, 3] = Field(3, description="1 (grayscale) or 3 (RGB)")
