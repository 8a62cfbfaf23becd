"""Parameters of the built-in models (torch-free).

Each also gives a lower bound of the activations a training step keeps per batch element, for the
memory estimate that refuses, at validation, a batch size that cannot fit.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from genbench.hashing import file_sha256
from genbench.settings import StrictModel, existing_file
from genbench.weights_files import plain_weights_file


class ModelParams(StrictModel):
    def activations_per_sample(self, sample_shape: tuple[int, ...]) -> int:
        """Values a training step keeps for the backward pass per batch element, at least."""
        return 0

    def stacks(self) -> bool:
        """Whether these settings' networks can train as an ensemble, given that the model entry
        declares ``stacks`` (genbench.models.stacking)."""
        return True

    def batch_problem(self, batch_size: int) -> str | None:
        """Why the discriminator cannot take training batches of ``batch_size`` samples (packs or
        minibatch-std groups that do not divide it), or None; checked when the suite is read, so
        the trial is not recorded as failed at its first step."""
        return None


def minibatch_group_problem(inputs: int, group: int) -> str | None:
    """Minibatch std splits the discriminator's ``inputs`` per batch into groups of ``group``
    (one group when the batch is smaller)."""
    if inputs > group and inputs % group:
        return (
            f"minibatch_std groups of {group} do not divide the discriminator's {inputs} inputs per batch; "
            "choose a batch size (divided by pack) that is a multiple of minibatch_group"
        )
    return None


def later_setting(default: Any, description: str, **constraints: Any) -> Any:
    """A field for a setting added after trials were recorded without it: left out of the resolved
    spec while it holds its default, so that those trials keep their ids (a hash of the resolved
    spec) and baselines their protocols. The model's factory resolves its parameters through the
    parameter model, which puts the default back."""
    return Field(default, description=description, exclude_if=lambda value: value == default, **constraints)


def minibatch_std_field() -> Any:
    """The ``minibatch_std`` field of ``mlp_gan`` and ``dcgan``; each declares it (and
    ``minibatch_group``) after its own settings, so that lists of allowed keys show them last."""
    return later_setting(
        False,
        "append the minibatch standard deviation before the discriminator's last layer "
        "(Karras et al. 2018, ProGAN): lets it see a collapsed batch",
    )


def minibatch_group_field() -> Any:
    return later_setting(
        4,
        "samples per minibatch-std group (ProGAN: 4); the discriminator's batch (packs under PacGAN) "
        "must be divisible by it, or smaller (one group)",
        ge=2,
    )


def conv_activations(base_channels: int, sample_shape: tuple[int, ...]) -> int:
    """A DCGAN-shaped pair of networks keeps at least its two half-resolution maps of
    ``base_channels`` (the generator's last, the discriminator's or encoder's first)."""
    side = sample_shape[-1] if len(sample_shape) == 3 else 0
    return 2 * base_channels * (side // 2) ** 2


class MlpGanParams(ModelParams):
    latent_dim: int = Field(2, ge=1, description="dimension of the Gaussian latent z")
    hidden: int = Field(128, ge=1, description="units per hidden layer (both networks)")
    depth: int = Field(3, ge=1, description="hidden layers (both networks)")
    pack: int = Field(
        1, ge=1, description="PacGAN packing: the discriminator judges this many samples jointly"
    )
    discriminator_hidden: int | None = later_setting(
        None, "units per discriminator hidden layer (unset: hidden; PacGAN: G 400, D 200)", ge=1
    )
    discriminator_depth: int | None = later_setting(
        None, "discriminator hidden layers (unset: depth; PacGAN: G 4, D 3)", ge=1
    )
    minibatch_std: bool = minibatch_std_field()
    minibatch_group: int = minibatch_group_field()

    @property
    def discriminator_size(self) -> tuple[int, int]:
        """(units per hidden layer, hidden layers) of the discriminator: its own, else the generator's."""
        hidden = self.hidden if self.discriminator_hidden is None else self.discriminator_hidden
        depth = self.depth if self.discriminator_depth is None else self.discriminator_depth
        return hidden, depth

    def activations_per_sample(self, sample_shape: tuple[int, ...]) -> int:
        """The generator's hidden layers, and the discriminator's for each packed group."""
        hidden, depth = self.discriminator_size
        return self.hidden * self.depth + hidden * depth // self.pack

    def batch_problem(self, batch_size: int) -> str | None:
        if batch_size % self.pack:
            return f"PacGAN pack={self.pack} needs a batch size divisible by it, got {batch_size}"
        if not self.minibatch_std:
            return None
        return minibatch_group_problem(batch_size // self.pack, self.minibatch_group)


class SavedFormat(str, Enum):
    EXPORT = "export"
    TORCHSCRIPT = "torchscript"
    STATE_DICT = "state_dict"
    CHECKPOINT = "checkpoint"


#: formats read with torch.load, which must open with weights_only=True (the others hold no pickle)
PICKLED_FORMATS = (SavedFormat.STATE_DICT, SavedFormat.CHECKPOINT)


class PretrainedParams(ModelParams):
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
        """An existing file, relative to the suite; one that torch.load opens must hold plain
        tensors (checked now, so a pickled module is refused before anything trains)."""
        resolved = existing_file(path, info)
        if info.data.get("format") in PICKLED_FORMATS:
            plain_weights_file(resolved)
        return resolved

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


class DcganParams(ModelParams):
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
    minibatch_std: bool = minibatch_std_field()
    minibatch_group: int = minibatch_group_field()

    def activations_per_sample(self, sample_shape: tuple[int, ...]) -> int:
        return conv_activations(self.base_channels, sample_shape)

    def batch_problem(self, batch_size: int) -> str | None:
        return minibatch_group_problem(batch_size, self.minibatch_group) if self.minibatch_std else None

    def stacks(self) -> bool:
        """Spectral norm's power iteration updates its vectors in place with ``out=`` operations,
        which torch.func.vmap cannot batch."""
        return self.discriminator_norm != "spectral"


class VaeMlpParams(ModelParams):
    """A VAE (Kingma & Welling 2014) with MLP encoder and decoder, for any data shape."""

    latent_dim: int = Field(16, ge=1, description="dimension of the latent z (standard normal prior)")
    hidden: int = Field(256, ge=1, description="units per hidden layer (both networks)")
    depth: int = Field(2, ge=1, description="hidden layers (both networks)")
    likelihood: Literal["bernoulli", "gaussian"] = Field(
        "bernoulli",
        description="decoder p(x|z): bernoulli on (x + 1) / 2, or gaussian with a learned scale",
    )

    def activations_per_sample(self, sample_shape: tuple[int, ...]) -> int:
        """The encoder's and the decoder's hidden layers."""
        return 2 * self.hidden * self.depth


class VaeConvParams(ModelParams):
    """A VAE with DCGAN-shaped convolutional encoder and decoder, for square power-of-two images."""

    latent_dim: int = Field(32, ge=1, description="dimension of the latent z (standard normal prior)")
    base_channels: int = Field(
        32, ge=1, description="channels at full resolution; doubled at every halving of the side"
    )
    likelihood: Literal["bernoulli", "gaussian"] = Field(
        "bernoulli",
        description="decoder p(x|z): bernoulli on (x + 1) / 2, or gaussian with a learned scale",
    )

    def activations_per_sample(self, sample_shape: tuple[int, ...]) -> int:
        return conv_activations(self.base_channels, sample_shape)
