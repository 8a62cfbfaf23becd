"""scikit-learn's bundled handwritten digits, and digits stacked three deep (1,000 modes).

The 1,797 8x8 images ship with scikit-learn, so these datasets work offline. Images are
upsampled (bilinear) to ``size`` x ``size`` and scaled to [-1, 1], genbench's image convention.
The train/test split is stratified and fixed by ``split_seed``: training draws from the train
split, evaluation references and classifiers' held-out checks from the test split.

Stacked digits put three independently drawn digits into the R, G and B channels, as Stacked
MNIST does (Metz et al. 2017; Srivastava et al. 2017): 10^3 = 1,000 modes, labelled
100 * red + 10 * green + blue.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F

DIGIT_CLASSES = 10
STACK_DEPTH = 3


@dataclass(frozen=True)
class DigitSplit:
    images: torch.Tensor  # (N, 1, size, size) in [-1, 1]
    labels: torch.Tensor  # (N,) int64


@lru_cache(maxsize=8)
def digit_splits(size: int, split_seed: int, test_fraction: float) -> tuple[DigitSplit, DigitSplit]:
    """(train, test) splits of the upsampled digits; cached, since every trial asks for them."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    pixels, labels = load_digits(return_X_y=True)
    images = torch.tensor(pixels, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    if size != 8:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    images = images.clamp(0, 1) * 2 - 1
    indices = torch.arange(len(labels)).numpy()
    train_index, test_index = train_test_split(
        indices, test_size=test_fraction, random_state=split_seed, stratify=labels
    )
    labels = torch.tensor(labels, dtype=torch.int64)
    return (
        DigitSplit(images[train_index].contiguous(), labels[train_index]),
        DigitSplit(images[test_index].contiguous(), labels[test_index]),
    )


def draw(split: DigitSplit, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n images with their labels, drawn uniformly with replacement, on the generator's device."""
    index = torch.randint(len(split.labels), (n,), generator=generator, device=generator.device).cpu()
    device = generator.device
    return split.images[index].to(device), split.labels[index].to(device)


class DigitsDataset:
    """Handwritten digits, 1 x size x size in [-1, 1]; 10 classes (not used as known modes)."""

    mode_centres = None

    def __init__(self, size: int, split_seed: int, test_fraction: float) -> None:
        self.train, self.test = digit_splits(size, split_seed, test_fraction)
        self.shape = (1, size, size)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return draw(self.train, n, generator)[0]

    def reference(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Distinct held-out images: n of the test split, or all of it when n exceeds it.

        Never with replacement: repeated images have k-NN balls of radius 0, which breaks
        precision, recall, density and coverage (and shrinks FID's covariance). The record's
        protocol holds the count actually used.
        """
        count = min(n, len(self.test.labels))
        index = torch.randperm(len(self.test.labels), generator=generator, device=generator.device)[:count]
        return self.test.images[index.cpu()].to(generator.device)


class StackedDigitsDataset:
    """Three digits as R, G, B: 3 x size x size in [-1, 1], 1,000 modes labelled 100r + 10g + b."""

    mode_centres = None
    num_modes = DIGIT_CLASSES**STACK_DEPTH

    def __init__(self, size: int, split_seed: int, test_fraction: float) -> None:
        self.train, self.test = digit_splits(size, split_seed, test_fraction)
        self.shape = (STACK_DEPTH, size, size)

    def stacks(
        self, split: DigitSplit, n: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        channels = [draw(split, n, generator) for _ in range(STACK_DEPTH)]
        images = torch.cat([images for images, _ in channels], dim=1)
        labels = sum(
            labels * DIGIT_CLASSES ** (STACK_DEPTH - 1 - depth) for depth, (_, labels) in enumerate(channels)
        )
        return images, labels

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.stacks(self.train, n, generator)[0]

    def reference(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Held-out stacks: each channel drawn from the test split."""
        return self.stacks(self.test, n, generator)[0]

    def labelled_reference(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Held-out stacks with their true mode labels (for the oracle of mode counting)."""
        return self.stacks(self.test, n, generator)
