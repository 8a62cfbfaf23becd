"""Parameters of the built-in metrics (torch-free).

Each also gives a lower bound of the memory one evaluation of the metric works in, for the estimate
that refuses, at validation, sample counts that cannot fit.
"""

from pydantic import Field, ValidationInfo, field_validator, model_validator

from genbench.settings import StrictModel, existing_file
from genbench.weights_files import plain_weights_file

FLOAT32_BYTES = 4
FLOAT64_BYTES = 8
#: modes of stacked digits (three digits deep), one logit each
STACKED_MODES = 1000
#: torch-fidelity's default seed of the inception score's shuffle and KID's subsets
TORCH_FIDELITY_SEED = 2020


def resolve_weights_file(path: str | None, info: ValidationInfo) -> str | None:
    """A weights file relative to the suite file, made absolute; it must exist (no download) and
    open with torch.load(weights_only=True): checked now, so a pickled file is refused before
    anything trains. CLIP's are TorchScript archives (no pickle); DINOv2 takes no file at all."""
    if path is None:
        return None
    resolved = existing_file(path, info, what="weights file")
    if not str(info.data.get("feature_extractor", "")).startswith(FEATURE_EXTRACTOR_FAMILIES):
        plain_weights_file(resolved)
    return resolved


#: memory of one block of the distances precision/recall/density/coverage work through
#: (``genbench.metrics.prdc``): the whole matrices of as many ensemble members as fit, else rows of
#: one member's, so 50,000 x 50,000 samples take blocks of 167 rows instead of 10 GB matrices.
#: Small on purpose, measured on a CPU: 8 members of 2,500 samples took 0.57 s one at a time and
#: 0.94 s all at once (256 MiB); 10,000 x 10,000 samples of 64 values took 2.1 s in blocks of
#: 16 or 32 MiB and 3.8 s in blocks of 256 MiB
DISTANCE_BLOCK_BYTES = 32 * 2**20


def distance_matrices_bytes(generated: int, reference: int) -> int:
    """The three float32 distance matrices of torch-fidelity's precision/recall (real-real,
    fake-fake, real-fake, all whole) and the real-fake ball memberships."""
    return FLOAT32_BYTES * (reference**2 + generated**2 + reference * generated) + reference * generated


def distance_blocks_bytes(
    generated: int, reference: int, k_precision_recall: int, k_density_coverage: int
) -> int:
    """Precision/recall/density/coverage in blocks (``genbench.metrics.prdc``): the largest block
    of float32 distances (a whole matrix where it fits in ``DISTANCE_BLOCK_BYTES``, else rows of
    one) with its ball memberships (a byte each), and what is kept per sample: its k + 1 nearest
    distances, and for a generated one whether it is in some real ball."""
    widest = max(generated, reference)
    rows = min(max(1, DISTANCE_BLOCK_BYTES // (FLOAT32_BYTES * widest)), widest)
    real_nearest = reference * (max(k_precision_recall, k_density_coverage) + 1)
    generated_nearest = generated * (k_precision_recall + 1)
    return (
        (FLOAT32_BYTES + 1) * rows * widest + FLOAT32_BYTES * (real_nearest + generated_nearest) + generated
    )


class MetricParams(StrictModel):
    def working_bytes(self, generated: int, reference: int, sample_values: int, modes: int) -> int:
        """Memory one evaluation of the metric works in, at least, besides the samples themselves:
        ``generated`` and ``reference`` samples of ``sample_values`` values, ``modes`` known modes."""
        return 0


class ModesParams(MetricParams):
    min_count: int = Field(
        1,
        ge=1,
        description="high-quality samples a mode needs to count as covered (1 as in VEEGAN)",
    )
    quality_radius: float = Field(
        3.0, gt=0, description="a sample is high quality within this many std of its nearest centre"
    )

    def working_bytes(self, generated: int, reference: int, sample_values: int, modes: int) -> int:
        """The samples in float64 and their float64 distances to every centre."""
        return FLOAT64_BYTES * generated * (sample_values + modes)


class PrdcParams(MetricParams):
    k_precision_recall: int = Field(3, ge=1, description="k of the k-NN radii for precision/recall")
    k_density_coverage: int = Field(5, ge=1, description="k of the k-NN radii for density/coverage")

    def working_bytes(self, generated: int, reference: int, sample_values: int, modes: int) -> int:
        return distance_blocks_bytes(generated, reference, self.k_precision_recall, self.k_density_coverage)


class VaeMetricParams(MetricParams):
    active_threshold: float = Field(
        0.01, gt=0, description="a latent is active when its posterior mean's variance exceeds this (Burda)"
    )
    seed: int = Field(0, ge=0, description="seed of the posterior draws, so evaluations repeat")


class IwaeParams(MetricParams):
    k: int = Field(100, ge=1, description="importance samples per example (k = 1 is the ELBO)")
    seed: int = Field(0, ge=0, description="seed of the posterior draws, so evaluations repeat")


#: feature extractors a suite may name: genbench's digits classifiers and torch-fidelity's names
FEATURE_EXTRACTORS = ("digits-cnn", "stacked-digits-cnn", "inception-v3-compat", "vgg16")
FEATURE_EXTRACTOR_FAMILIES = ("clip-", "dinov2-")
#: the fewest values per sample that a metric reads from each extractor (features or logits): the
#: digits classifier's 10 logits, stacked digits' 192 features, Inception's 1,008 logits, VGG16's
#: 4,096 fc2 features, the smallest CLIP (ViT-B: 512) and DINOv2 (ViT-S: 384) embeddings
FEWEST_FEATURES = {
    "digits-cnn": 10,
    "stacked-digits-cnn": 192,
    "inception-v3-compat": 1008,
    "vgg16": 4096,
    "clip-": 512,
    "dinov2-": 384,
}


class FeatureSpaceParams(MetricParams):
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

    def working_bytes(self, generated: int, reference: int, sample_values: int, modes: int) -> int:
        """The features of both sample sets."""
        family = next((f for f in FEATURE_EXTRACTOR_FAMILIES if self.feature_extractor.startswith(f)), None)
        features = FEWEST_FEATURES[family or self.feature_extractor]
        return FLOAT32_BYTES * features * (generated + reference)


class IscParams(FeatureSpaceParams):
    splits: int = Field(10, ge=1, description="the score is the mean (and std) over this many splits")
    seed: int = Field(
        TORCH_FIDELITY_SEED, ge=0, description="seed of the shuffle before splitting (torch-fidelity's)"
    )


class KidParams(FeatureSpaceParams):
    subsets: int = Field(100, ge=1, description="random subsets the MMD is averaged over")
    subset_size: int = Field(
        1000, ge=2, description="samples per subset; clamped to the generated and reference counts"
    )
    seed: int = Field(TORCH_FIDELITY_SEED, ge=0, description="seed of the subsets (torch-fidelity's)")


class PrcParams(FeatureSpaceParams):
    k_precision_recall: int = Field(3, ge=1, description="k of the k-NN radii for precision/recall")
    k_density_coverage: int = Field(5, ge=1, description="k of the k-NN radii for density/coverage")

    def working_bytes(self, generated: int, reference: int, sample_values: int, modes: int) -> int:
        """The features, and density/coverage's distance matrices between them."""
        features = super().working_bytes(generated, reference, sample_values, modes)
        return features + distance_matrices_bytes(generated, reference)


class StackedModesParams(MetricParams):
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

    def working_bytes(self, generated: int, reference: int, sample_values: int, modes: int) -> int:
        """The 1,000 stack logits of every generated sample."""
        return FLOAT32_BYTES * STACKED_MODES * generated
