"""Parameters of the built-in models (torch-free)."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from genbench.hashing import file_sha256
from genbench.settings import StrictModel, existing_file


class MlpGanParams(StrictModel):
    latent_dim: int = Field(2, ge=1, description="dimension of the Gaussian latent z")
    hidden: int = Field(128, ge=1, description="units per hidden layer (both networks)")
    depth: int = Field(3, ge=1, description="hidden layers (both networks)")
    pack: int = Field(
        1, ge=1, description="PacGAN packing: the discriminator judges this many samples jointly"
    )


class SavedFormat(str, Enum):
    EXPORT = "export"
    TORCHSCRIPT = "torchscript"
    STATE_DICT = "state_dict"
    CHECKPOINT = "checkpoint"


class PretrainedParams(StrictModel):
    """A saved generator mapping latents (N, latent_dim) to samples; evaluated without training."""

    format: SavedFormat = Field(
        description="export (torch.export.save), torchscript, state_dict, or checkpoint (genbench's own)"
    )
    path: str = Field(description="the saved file, relative to the suite file")
    latent_dim: int | None = Field(
        None, ge=1, description="dimension of the Gaussian latent z (a checkpoint knows its own)"
    )
    factory: str | None = Field(
        None, description="package.module:callable building the module (state_dict only)"
    )
    factory_kwargs: dict[str, Any] = Field(default_factory=dict)
    sha256: str | None = Field(
        None, description="content hash, filled in so a changed file never reuses a stale result"
    )

    @field_validator("path")
    @classmethod
    def resolve_against_suite(cls, path: str, info: ValidationInfo) -> str:
        return existing_file(path, info)

    @model_validator(mode="after")
    def check_factory_and_hash(self) -> PretrainedParams:
        if self.format is SavedFormat.STATE_DICT and not self.factory:
            raise ValueError("format 'state_dict' needs 'factory: package.module:callable'")
        if self.format is not SavedFormat.STATE_DICT and self.factory:
            raise ValueError(f"'factory' is only used with format 'state_dict', not '{self.format.value}'")
        if self.format is not SavedFormat.CHECKPOINT and self.latent_dim is None:
            raise ValueError(f"format '{self.format.value}' needs 'latent_dim'")
        digest = file_sha256(self.path)
        if self.sha256 is not None and self.sha256 != digest:
            raise ValueError(f"sha256 of {self.path} is {digest}, not the {self.sha256} given")
        object.__setattr__(self, "sha256", digest)
        return self


class DcganParams(StrictModel):
    """DCGAN (Radford et al. 2016) for square images whose side is a power of two (16, 32, 64 ...)."""

    latent_dim: int = Field(100, ge=1, description="dimension of the Gaussian latent z")
    base_channels: int = Field(
        64, ge=1, description="channels at full resolution; doubled at every halving of the side"
    )
    generator_batch_norm: bool = Field(True, description="batch norm after the generator's hidden layers")
    discriminator_norm: Literal["batch", "spectral", "none"] = Field(
        "batch",
        description="batch (DCGAN), spectral on every convolution (SNGAN, Miyato et al. 2018), or none "
        "(for wgan-gp, Gulrajani et al. 2017)",
    )


class VaeMlpParams(StrictModel):
    """A VAE (Kingma & Welling 2014) with MLP encoder and decoder, for any data shape."""

    latent_dim: int = Field(16, ge=1, description="dimension of the latent z (standard normal prior)")
    hidden: int = Field(256, ge=1, description="units per hidden layer (both networks)")
    depth: int = Field(2, ge=1, description="hidden layers (both networks)")
    likelihood: Literal["bernoulli", "gaussian"] = Field(
        "bernoulli",
        description="decoder p(x|z): bernoulli on (x + 1) / 2, or gaussian with a learned scale",
    )


class VaeConvParams(StrictModel):
    """A VAE with DCGAN-shaped convolutional encoder and decoder, for square power-of-two images."""

    latent_dim: int = Field(32, ge=1, description="dimension of the latent z (standard normal prior)")
    base_channels: int = Field(
        32, ge=1, description="channels at full resolution; doubled at every halving of the side"
    )
    likelihood: Literal["bernoulli", "gaussian"] = Field(
        "bernoulli",
        description="decoder p(x|z): bernoulli on (x + 1) / 2, or gaussian with a learned scale",
    )
