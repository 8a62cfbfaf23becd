"""FID, inception score, KID and precision/recall on genbench's features.

FID, IS and KID are torch-fidelity's own functions applied to features extracted once per evaluation
(``genbench.metrics.features``), so they equal ``torch_fidelity.calculate_metrics`` on the same
images (tested); genbench adds the choice of extractor, a safe weights file and a reference cache
keyed on everything the features depend on.

- ``fid``: Frechet distance between Gaussians fitted to the features (Heusel et al. 2017). Biased
  upwards at small sample counts (strongly below ~2,000 samples with Inception's 2,048 features,
  Chong & Forsyth 2020), so values are only comparable at equal sample counts; the record's
  protocol holds them.
- ``isc``: inception score exp E KL(p(y|x) || p(y)) over ``splits`` splits (Salimans et al. 2016);
  with ``digits-cnn`` at most 10, with ``stacked-digits-cnn`` at most 1,000.
- ``kid``: unbiased squared MMD with a cubic polynomial kernel, mean and std over ``subsets``
  random subsets (Binkowski et al. 2018); the subset size is clamped to the sample counts.
- ``prc``: precision and recall of Kynkaanniemi et al. 2019, plus density and coverage of Naeem et
  al. 2020, on the same features, all four from ``genbench.metrics.prdc``: its distances come in row
  blocks of bounded memory, where torch-fidelity's precision/recall builds whole N x N matrices
  (three at the 50,000 samples of the image protocol: about 30 GB). The tests check precision and
  recall against torch-fidelity's ``prc_features_to_metric`` on the same features.

The extractor is named explicitly in every call: left to itself, torch-fidelity 0.4.0 runs
Inception for FID/KID and VGG16 for precision/recall and hands one weights path to both.

An ensemble's members ([E, N, C, H, W], ``evaluate_members``) go through the extractor in one pass
of all E N images, shared by the metrics of the evaluation like a single sample set's; each member's
values are then computed from its own features. They equal separate evaluations of the members to
float tolerance (the extractor sees the images in other batches).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

from genbench.metrics.base import MetricProtocol, MetricResult
from genbench.metrics.features import FeatureSpace, LastTensorMemo, feature_space
from genbench.metrics.keys import (
    KEY_FID,
    KEY_ISC_MEAN,
    KEY_ISC_STD,
    KEY_KID_MEAN,
    KEY_KID_STD,
)
from genbench.metrics.prdc import member_precision_recall_density_coverage


def member_features(space: FeatureSpace, generated: torch.Tensor, batch_size: int) -> dict[str, torch.Tensor]:
    """Features of an ensemble's images [E, N, C, H, W], shaped [E, N, ...]: the E N images are
    extracted in one pass and remembered by the space as the features of that tensor, so that the
    other metrics of the evaluation, given the same tensor, do not extract them again."""
    remembered = space.generated.get(generated)
    if remembered is not None:
        return remembered
    features = space.extract(generated.flatten(0, 1), batch_size)
    members = generated.shape[:2]
    return space.generated.put(
        generated, {layer: value.unflatten(0, members) for layer, value in features.items()}
    )


class FidelityMetric(ABC):
    """What the four metrics share: a feature space and the features of one evaluation."""

    name: ClassVar[str]
    version: ClassVar[int] = 1

    def __init__(
        self, feature_extractor: str, feature_extractor_weights_path: str | None, batch_size: int
    ) -> None:
        self.space: FeatureSpace = feature_space(feature_extractor, feature_extractor_weights_path)
        self.batch_size = batch_size

    def generated_features(self, generated: torch.Tensor) -> torch.Tensor:
        layer = self.space.layers[self.name]
        return self.space.generated_features(generated, self.batch_size)[layer]

    def generated_member_features(self, generated: torch.Tensor) -> torch.Tensor:
        layer = self.space.layers[self.name]
        return member_features(self.space, generated, self.batch_size)[layer]

    def reference_features(self, reference: torch.Tensor) -> torch.Tensor:
        layer = self.space.layers[self.name]
        return self.space.reference_features(reference, self.batch_size)[layer]

    def __call__(self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any) -> MetricResult:
        return MetricResult(values=self.values(self.generated_features(generated), reference))

    def evaluate_members(
        self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any
    ) -> list[MetricResult]:
        return [
            MetricResult(values=self.values(fake, reference))
            for fake in self.generated_member_features(generated)
        ]

    @abstractmethod
    def values(self, fake: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
        """The metric of one sample set, from its features ``fake`` and the reference images."""

    def settings(self) -> dict[str, Any]:
        """The metric's own parameters that its values depend on, for its protocol (not the batch
        size, so that runs on different hardware stay comparable)."""
        return {}

    def protocol(self) -> dict[str, Any]:
        layer = self.space.layers[self.name]
        params = {**self.space.protocol(layer), **self.settings()}
        return MetricProtocol(self.name, self.version, f"{self.space.extractor}/{layer}", params).as_dict()


class FrechetInceptionDistance(FidelityMetric):
    name = "fid"

    def __init__(self, **space: Any) -> None:
        super().__init__(**space)
        #: the reference set's mean and covariance, kept while the reference features are the same
        self.reference_statistics = LastTensorMemo()

    def values(self, fake: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
        real = self.reference_features(reference)
        real_statistics = self.reference_statistics.get(real)
        if real_statistics is None:
            real_statistics = self.reference_statistics.put(real, fid_features_to_statistics(real.cpu()))
        fake_statistics = fid_features_to_statistics(fake.cpu())
        return {
            KEY_FID: fid_statistics_to_metric(fake_statistics, real_statistics, verbose=False)[KEY_METRIC_FID]
        }


class InceptionScore(FidelityMetric):
    """Needs no reference: a score of the generated samples' class predictions alone."""

    name = "isc"

    def __init__(self, splits: int, seed: int, **space: Any) -> None:
        super().__init__(**space)
        self.splits = splits
        self.seed = seed

    def values(self, fake: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
        score = isc_features_to_metric(fake.cpu(), self.splits, shuffle=True, rng_seed=self.seed)
        return {KEY_ISC_MEAN: score[KEY_METRIC_ISC_MEAN], KEY_ISC_STD: score[KEY_METRIC_ISC_STD]}

    def settings(self) -> dict[str, Any]:
        return {"splits": self.splits, "seed": self.seed}


class KernelInceptionDistance(FidelityMetric):
    name = "kid"

    def __init__(self, subsets: int, subset_size: int, seed: int, **space: Any) -> None:
        super().__init__(**space)
        self.subsets = subsets
        self.subset_size = subset_size
        self.seed = seed

    def values(self, fake: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
        fake = fake.cpu()
        real = self.reference_features(reference).cpu()
        kid = kid_features_to_metric(
            fake,
            real,
            kid_subsets=self.subsets,
            kid_subset_size=min(self.subset_size, len(fake), len(real)),
            rng_seed=self.seed,
            verbose=False,
        )
        return {KEY_KID_MEAN: kid[KEY_METRIC_KID_MEAN], KEY_KID_STD: kid[KEY_METRIC_KID_STD]}

    def settings(self) -> dict[str, Any]:
        """The subset size used is min(subset_size, generated count, reference count)."""
        return {"subsets": self.subsets, "subset_size": self.subset_size, "seed": self.seed}


class PrecisionRecall(FidelityMetric):
    name = "prc"

    def __init__(self, k_precision_recall: int, k_density_coverage: int, **space: Any) -> None:
        super().__init__(**space)
        self.k_precision_recall = k_precision_recall
        self.k_density_coverage = k_density_coverage

    def values(self, fake: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
        return self.member_values(fake[None], reference)[0]

    def evaluate_members(
        self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any
    ) -> list[MetricResult]:
        """Density and coverage of all members from the reference radii computed once."""
        members = self.member_values(self.generated_member_features(generated), reference)
        return [MetricResult(values=values) for values in members]

    def member_values(self, fake: torch.Tensor, reference: torch.Tensor) -> list[dict[str, float]]:
        """Each member's values from its features ``fake`` [E, N, F]."""
        real = self.reference_features(reference)
        return member_precision_recall_density_coverage(
            fake, real, self.k_precision_recall, self.k_density_coverage
        )

    def settings(self) -> dict[str, Any]:
        return {"k_precision_recall": self.k_precision_recall, "k_density_coverage": self.k_density_coverage}
