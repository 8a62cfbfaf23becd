"""Feature extractors genbench adds to torch-fidelity's registry (registered on import).

torch-fidelity looks extractors up by name in its own registry, so ``digits-cnn`` and
``stacked-digits-cnn`` become usable everywhere torch-fidelity takes a ``feature_extractor``,
including its own ``calculate_metrics``.
"""

from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

from genbench.metrics.extractors.digits_cnn import (
    FeatureExtractorDigitsCNN,
    FeatureExtractorStackedDigitsCNN,
)

GENBENCH_EXTRACTORS = {
    "digits-cnn": FeatureExtractorDigitsCNN,
    "stacked-digits-cnn": FeatureExtractorStackedDigitsCNN,
}

for _name, _extractor in GENBENCH_EXTRACTORS.items():
    if _name not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(_name, _extractor)
