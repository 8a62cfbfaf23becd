"""Parameters of the built-in models (torch-free)."""

from __future__ import annotations

import hashlib
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from genbench.settings import StrictModel


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
        base_dir = Path((info.context or {}).get("base_dir", "."))
        resolved = (base_dir / path).resolve()
        if not resolved.is_file():
            raise ValueError(f"no file at {resolved}")
        return str(resolved)

    @model_validator(mode="after")
    def check_factory_and_hash(self) -> PretrainedParams:
        if self.format is SavedFormat.STATE_DICT and not self.factory:
            raise ValueError("format 'state_dict' needs 'factory: package.module:callable'")
        if self.format is not SavedFormat.STATE_DICT and self.factory:
            raise ValueError(f"'factory' is only used with format 'state_dict', not '{self.format.value}'")
        if self.format is not SavedFormat.CHECKPOINT and self.latent_dim is None:
            raise ValueError(f"format '{self.format.value}' needs 'latent_dim'")
        digest = hashlib.sha256(Path(self.path).read_bytes()).hexdigest()
        if self.sha256 is not None and self.sha256 != digest:
            raise ValueError(f"sha256 of {self.path} is {digest}, not the {self.sha256} given")
        object.__setattr__(self, "sha256", digest)
        return self
