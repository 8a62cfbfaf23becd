"""Mode counting on stacked digits, with the oracle that says what a perfect generator scores.

Protocol of Metz et al. 2017 (unrolled GANs), Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018
(PacGAN) on Stacked MNIST, here on the bundled digits: each of the three channels of a generated
sample is classified by the digits classifier (``stacked-digits-cnn``), the triple (r, g, b) is the
sample's mode 100 r + 10 g + b of 1,000. Their protocol draws 26,000 samples (set the suite's
``eval_samples`` to 26000 to follow it). Reported, under the same names as the 2-D track:

- ``modes_covered``: modes with at least ``min_count`` samples;
- ``mode_kl``: KL(histogram of all samples' modes || uniform), natural log, = log 1000 - H.

Why ``min_count`` (default 10): the classifier errs, and every error moves a sample to a mode next
to its true one. Counting a mode on a single sample lets a collapsed generator look diverse: at ~3%
error per channel a generator emitting only digits 0-4 (125 true modes) covers about 260. Spurious
modes collect a few samples each; at 26,000 samples a uniform generator gives each true mode
Poisson(26) samples, fewer than 10 about once in 7,000 modes. So 10 removes the spurious modes and
keeps the real ones. At fewer samples lower it in proportion (about 0.4 x samples / 1,000), and read
the oracle.

The **oracle** runs real held-out stacks (``dataset.labelled_reference``, as many as the generated
samples, fixed seed) through the same pipeline: ``oracle_modes_covered`` near 1,000 and
``oracle_mode_kl`` near the finite-sample floor (K - 1) / (2N) (0.019 at 26,000) say the count can
be trusted at this sample size; a generator is judged against them, not against 1,000 and 0. It is
classified once per process for each classifier and reference set.

An ensemble's members ([E, N, 3, H, W]) are classified in one pass of all E N samples and share the
oracle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from genbench.data.digits import STACK_DEPTH
from genbench.errors import GenbenchError
from genbench.metrics.base import MetricProtocol, MetricResult
from genbench.metrics.extractors.digits_cnn import LOGITS
from genbench.metrics.feature_cache import images_sha256
from genbench.metrics.features import feature_space, to_uint8_rgb
from genbench.metrics.fidelity import member_features
from genbench.metrics.keys import (
    KEY_MODE_KL,
    KEY_MODES_COVERED,
    KEY_ORACLE_MODE_KL,
    KEY_ORACLE_MODES_COVERED,
)
from genbench.metrics.modes import mode_kl

STACKED_EXTRACTOR = "stacked-digits-cnn"


@dataclass(frozen=True)
class ModeCount:
    covered_modes: list[int]
    mode_kl: float


def count_modes(labels: torch.Tensor, num_modes: int, min_count: int) -> ModeCount:
    """Modes with at least ``min_count`` of the labels, and the labels' KL to uniform (nats)."""
    counts = torch.bincount(labels.flatten().cpu(), minlength=num_modes)
    covered = torch.nonzero(counts >= min_count).flatten().tolist()
    return ModeCount(covered_modes=covered, mode_kl=mode_kl(counts))


#: the oracle's classified modes in this process, by classifier weights and reference images
ORACLE_LABELS: dict[tuple[str, str], torch.Tensor] = {}


class StackedModesMetric:
    version = 1

    def __init__(
        self,
        min_count: int,
        classifier_weights_path: str | None,
        oracle_seed: int,
        batch_size: int,
    ) -> None:
        self.space = feature_space(STACKED_EXTRACTOR, classifier_weights_path)
        self.min_count = min_count
        self.oracle_seed = oracle_seed
        self.batch_size = batch_size

    def __call__(self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any) -> MetricResult:
        self.check_dataset(dataset)
        labels = self.space.generated_features(generated, self.batch_size)[LOGITS].argmax(dim=1)
        oracle = self.oracle(dataset, len(generated), generated.device)
        return self.result(labels, oracle, dataset)

    def evaluate_members(
        self, generated: torch.Tensor, reference: torch.Tensor, dataset: Any
    ) -> list[MetricResult]:
        self.check_dataset(dataset)
        labels = member_features(self.space, generated, self.batch_size)[LOGITS].argmax(dim=2).cpu()
        oracle = self.oracle(dataset, generated.shape[1], generated.device)
        return [self.result(member_labels, oracle, dataset) for member_labels in labels]

    @staticmethod
    def check_dataset(dataset: Any) -> None:
        if not hasattr(dataset, "labelled_reference") or dataset.shape[0] != STACK_DEPTH:
            raise GenbenchError(
                "metric 'stacked_modes' needs the stacked_digits dataset (three digits as R, G, B)"
            )

    def result(self, labels: torch.Tensor, oracle: ModeCount, dataset: Any) -> MetricResult:
        """One sample set's result from its samples' modes ``labels``."""
        count = count_modes(labels, dataset.num_modes, self.min_count)
        values = {
            KEY_MODES_COVERED: float(len(count.covered_modes)),
            KEY_MODE_KL: count.mode_kl,
            KEY_ORACLE_MODES_COVERED: float(len(oracle.covered_modes)),
            KEY_ORACLE_MODE_KL: oracle.mode_kl,
        }
        return MetricResult(values=values, covered_modes=count.covered_modes)

    def oracle(self, dataset: Any, count: int, device: torch.device) -> ModeCount:
        """Mode count of ``count`` real held-out stacks; drawn on the CPU, so every device agrees."""
        images, _ = dataset.labelled_reference(count, torch.Generator().manual_seed(self.oracle_seed))
        key = (self.space.weights.identity(), images_sha256(to_uint8_rgb(images)))
        if key not in ORACLE_LABELS:
            logits = self.space.extract(images.to(device), self.batch_size)[LOGITS]
            ORACLE_LABELS[key] = logits.argmax(dim=1).cpu()
        return count_modes(ORACLE_LABELS[key], dataset.num_modes, self.min_count)

    def protocol(self) -> dict[str, Any]:
        params = {
            "min_count": self.min_count,
            "oracle_seed": self.oracle_seed,
            **self.space.protocol(LOGITS),
        }
        return MetricProtocol("stacked_modes", self.version, f"{STACKED_EXTRACTOR}/argmax", params).as_dict()
