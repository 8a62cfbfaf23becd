"""Parameters of the built-in metrics (torch-free)."""

from pydantic import Field, ValidationInfo, field_validator, model_validator

from genbench.settings import StrictModel, existing_file


def resolve_weights_file(path: str | None, info: ValidationInfo) -> str | None:
    """A weights file relative to the suite file, made absolute; it must exist (no download)."""
    return None if path is None else existing_file(path, info, what="weights file")


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


class VaeMetricParams(StrictModel):
    active_threshold: float = Field(
        0.01, gt=0, description="a latent is active when its posterior mean's variance exceeds this (Burda)"
    )
    seed: int = Field(0, ge=0, description="seed of the posterior draws, so evaluations repeat")


class IwaeParams(StrictModel):
    k: int = Field(100, ge=1, description="importance samples per example (k = 1 is the ELBO)")
    seed: int = Field(0, ge=0, description="seed of the posterior draws, so evaluations repeat")


#: feature extractors a suite may name: genbench's digits classifiers and torch-fidelity's names
FEATURE_EXTRACTORS = ("digits-cnn", "stacked-digits-cnn", "inception-v3-compat", "vgg16")
FEATURE_EXTRACTOR_FAMILIES = ("clip-", "dinov2-")


class FeatureSpaceParams(StrictModel):
    """The feature space of ``fid``, ``isc``, ``kid`` and ``prc`` (torch-fidelity's extractors)."""

    feature_extractor: str = Field(
        "digits-cnn",
        description="digits-cnn, stacked-digits-cnn (offline, digits), inception-v3-compat, clip-*, dinov2-*",
    )
    feature_extractor_weights_path: str | None = Field(
        None,
        description="local weights file (a state dict; CLIP: TorchScript); default: bundled (digits) "
        "or torch-fidelity's download",
    )
    batch_size: int = Field(64, ge=1, description="images per forward pass of the extractor")

    _resolve_weights = field_validator("feature_extractor_weights_path")(resolve_weights_file)

    @field_validator("feature_extractor")
    @classmethod
    def known_form(cls, name: str) -> str:
        if name not in FEATURE_EXTRACTORS and not name.startswith(FEATURE_EXTRACTOR_FAMILIES):
            families = [f"{family}<model>" for family in FEATURE_EXTRACTOR_FAMILIES]
            allowed = ", ".join([*FEATURE_EXTRACTORS, *families])
            raise ValueError(f"unknown feature extractor '{name}'; allowed: {allowed}")
        return name

    @model_validator(mode="after")
    def loadable_weights(self) -> "FeatureSpaceParams":
        if self.feature_extractor.startswith("dinov2-") and self.feature_extractor_weights_path:
            raise ValueError(
                "torch-fidelity 0.4.0 cannot load DINOv2 weights from a file; leave "
                "feature_extractor_weights_path unset (weights come from torch.hub)"
            )
        return self


class IscParams(FeatureSpaceParams):
    splits: int = Field(10, ge=1, description="the score is the mean (and std) over this many splits")
    seed: int = Field(2020, ge=0, description="seed of the shuffle before splitting (torch-fidelity's)")


class KidParams(FeatureSpaceParams):
    subsets: int = Field(100, ge=1, description="random subsets the MMD is averaged over")
    subset_size: int = Field(
        1000, ge=2, description="samples per subset; clamped to the generated and reference counts"
    )
    seed: int = Field(2020, ge=0, description="seed of the subsets (torch-fidelity's)")


class PrcParams(FeatureSpaceParams):
    k_precision_recall: int = Field(3, ge=1, description="k of the k-NN radii for precision/recall")
    k_density_coverage: int = Field(5, ge=1, description="k of the k-NN radii for density/coverage")


class StackedModesParams(StrictModel):
    min_count: int = Field(
        10,
        ge=1,
        description="samples a mode needs to count; 10 at 26,000 samples drops classifier-error modes",
    )
    classifier_weights_path: str | None = Field(
        None, description="digits classifier state dict; default: the bundled one (digits-cnn)"
    )
    oracle_seed: int = Field(0, ge=0, description="seed of the real held-out stacks of the oracle")

    _resolve_weights = field_validator("classifier_weights_path")(resolve_weights_file)
    batch_size: int = Field(1024, ge=1, description="images per forward pass of the classifier")
