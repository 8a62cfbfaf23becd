"""Image features through torch-fidelity's feature extractors, extracted once per evaluation.

**Image convention.** genbench images are float32 (N, C, H, W) in [-1, 1]. torch-fidelity's
extractors take uint8 (N, 3, H, W), so images are converted with
``((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)`` and a single (grayscale) channel is
repeated to three. Values outside [-1, 1] are clipped, as saving the samples as images would.

**One extraction per evaluation.** A ``FeatureSpace`` (one extractor with one weights file) is
shared by every metric of the process that names it (``fid``, ``kid``, ``prc``, ``isc``,
``stacked_modes``). It extracts all the layers those metrics use in one pass and remembers the
features of the last generated tensor it saw, so the metrics of one evaluation, which are all given
the same tensor, extract its features once. Reference features come from the disk cache
(``genbench.metrics.feature_cache``) after their first extraction.

The extractor runs where the images are (``cuda=False`` is given to torch-fidelity, which would
otherwise move it to the default CUDA device; genbench moves it to the images' device itself).
"""

from __future__ import annotations

import weakref
from functools import lru_cache
from typing import Any

import torch
import torch_fidelity
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
from torch_fidelity.utils import create_feature_extractor, resolve_feature_layer_for_metric

from genbench.errors import GenbenchError
from genbench.metrics import feature_cache
from genbench.metrics.weights import ExtractorWeights, resolve_weights

#: torch-fidelity's metrics; each reads one layer of the extractor (its default for the metric)
FIDELITY_METRICS = ("isc", "fid", "kid", "prc")
RGB = 3


def to_uint8_rgb(images: torch.Tensor) -> torch.Tensor:
    """float (N, C, H, W) in [-1, 1] -> uint8 (N, 3, H, W), the input of every torch-fidelity
    extractor; one channel is repeated to three."""
    if images.dim() != 4 or images.shape[1] not in (1, RGB):
        raise GenbenchError(
            f"image metrics need images of shape (N, 1 or 3, H, W); got {tuple(images.shape)}"
        )
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.expand(-1, RGB, -1, -1) if pixels.shape[1] == 1 else pixels


class LastTensorMemo:
    """A value computed from the last tensor seen, returned again while that very tensor (same
    object, not modified in place) is asked about; holds no reference that keeps it alive."""

    def __init__(self) -> None:
        self.tensor: weakref.ref[torch.Tensor] | None = None
        self.version = -1
        self.value: Any = None

    def get(self, tensor: torch.Tensor) -> Any:
        if self.tensor is not None and self.tensor() is tensor and tensor._version == self.version:
            return self.value
        return None

    def put(self, tensor: torch.Tensor, value: Any) -> Any:
        self.tensor, self.version, self.value = weakref.ref(tensor), tensor._version, value
        return value


class FeatureSpace:
    """One torch-fidelity extractor with one weights file, and the features it gives images."""

    def __init__(self, extractor: str, weights: ExtractorWeights) -> None:
        if extractor not in FEATURE_EXTRACTORS_REGISTRY:
            raise GenbenchError(
                f"unknown feature extractor '{extractor}'; torch-fidelity {torch_fidelity.__version__} "
                f"with genbench's knows: {', '.join(sorted(FEATURE_EXTRACTORS_REGISTRY))}"
            )
        self.extractor = extractor
        self.weights = weights
        self.layers = {
            metric: resolve_feature_layer_for_metric(metric, feature_extractor=extractor)
            for metric in FIDELITY_METRICS
        }
        self.modules: dict[torch.device, FeatureExtractorBase] = {}
        self.generated = LastTensorMemo()
        self.reference = LastTensorMemo()

    def module(self, device: torch.device) -> FeatureExtractorBase:
        if device not in self.modules:
            try:
                module = create_feature_extractor(
                    self.extractor,
                    sorted(set(self.layers.values())),
                    cuda=False,
                    feature_extractor_weights_path=self.weights.path,
                    verbose=False,
                )
            except Exception as error:
                raise GenbenchError(
                    f"cannot build feature extractor '{self.extractor}' with weights "
                    f"'{self.weights.path or 'torch-fidelity default (downloaded)'}': "
                    f"{type(error).__name__}: {error}. Offline, set feature_extractor_weights_path "
                    "to a local weights file"
                ) from error
            self.modules[device] = module.to(device)
        return self.modules[device]

    @torch.no_grad()
    def extract(self, images: torch.Tensor, batch_size: int) -> dict[str, torch.Tensor]:
        """Features (every layer the metrics use) of float images in [-1, 1], on their device."""
        module = self.module(images.device)
        batches = [
            module.convert_features_tuple_to_dict(module(to_uint8_rgb(batch)))
            for batch in images.split(batch_size)
        ]
        return {layer: torch.cat([batch[layer] for batch in batches]) for layer in batches[0]}

    def generated_features(self, images: torch.Tensor, batch_size: int) -> dict[str, torch.Tensor]:
        remembered = self.generated.get(images)
        if remembered is not None:
            return remembered
        return self.generated.put(images, self.extract(images, batch_size))

    def reference_features(self, images: torch.Tensor, batch_size: int) -> dict[str, torch.Tensor]:
        """From memory, else from the disk cache, else extracted and cached."""
        remembered = self.reference.get(images)
        if remembered is not None:
            return remembered
        key = feature_cache.cache_key(
            extractor=self.extractor,
            weights=self.weights.identity(),
            layers=sorted(set(self.layers.values())),
            torch_fidelity=torch_fidelity.__version__,
            images=feature_cache.images_sha256(to_uint8_rgb(images)),
        )
        features = feature_cache.load_features(key)
        if features is None:
            features = self.extract(images, batch_size)
            feature_cache.save_features(key, features)
        return self.reference.put(
            images, {layer: value.to(images.device) for layer, value in features.items()}
        )

    def protocol(self, layer: str) -> dict[str, Any]:
        return {
            "feature_extractor": self.extractor,
            "feature_layer": layer,
            "feature_extractor_weights_sha256": self.weights.identity(),
            "torch_fidelity": torch_fidelity.__version__,
        }


@lru_cache(maxsize=16)
def feature_space(extractor: str, weights_path: str | None) -> FeatureSpace:
    """The process's one feature space for an extractor and weights file (vetted on first use)."""
    return FeatureSpace(extractor, resolve_weights(extractor, weights_path))
