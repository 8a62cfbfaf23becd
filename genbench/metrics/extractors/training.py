"""Train the digits classifier behind ``digits-cnn``, reproducibly, on the digits train split.

The bundled weights file is the output of ``train_digits_classifier(path, seed=0)``; the same call
reproduces it on the same CPU build (all randomness comes from one seeded generator, the global
RNG is left untouched). Training sees small random shifts (up to one pixel each way), so that the
features move smoothly when a generator draws a digit slightly off centre.

It trains on the split the digits datasets use by default (split seed 0, a quarter held out), so
it never saw the held-out images that reference sets and the stacked-digits oracle are drawn from.
A dataset with another ``split_seed`` holds out images the classifier was trained on. The
classifier works at 16 x 16 whatever the dataset's size (the scans are 8 x 8), so one file serves
every size.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from genbench.data.digits import DigitSplit, digit_splits
from genbench.metrics.extractors.digits_cnn import CLASSIFIER_SIZE, DigitsClassifier

SPLIT_SEED = 0
TEST_FRACTION = 0.25
EPOCHS = 30
BATCH_SIZE = 64
LEARNING_RATE = 3e-3
SHIFT = 1


@dataclass(frozen=True)
class TrainingReport:
    test_accuracy: float
    seconds: float


def shifted(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by up to SHIFT pixels each way, with background (-1) filling the border."""
    padded = F.pad(images, (SHIFT,) * 4, value=-1.0)
    offsets = torch.randint(0, 2 * SHIFT + 1, (images.shape[0], 2), generator=generator)
    size = images.shape[-1]
    return torch.stack(
        [padded[i, :, y : y + size, x : x + size] for i, (y, x) in enumerate(offsets.tolist())]
    )


@torch.no_grad()
def accuracy(classifier: DigitsClassifier, split: DigitSplit) -> float:
    classifier.eval()
    _, logits = classifier(split.images)
    return float((logits.argmax(dim=1) == split.labels).double().mean())


def train_digits_classifier(out_path: str | Path, seed: int = 0, epochs: int = EPOCHS) -> TrainingReport:
    """Train on the train split (split seed 0, a quarter held out), save the state dict to
    ``out_path`` and report the accuracy on the held-out test split.

    Training runs on one thread: kernels split their sums differently across thread counts, and
    one thread makes the weights the same on every machine with the same CPU kernels (it is also
    the fastest for a network this small).
    """
    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        classifier = fit(seed, epochs)
    finally:
        torch.set_num_threads(threads)
    Path(out_path).write_bytes(state_dict_bytes(classifier))
    _, test = digit_splits(CLASSIFIER_SIZE, SPLIT_SEED, TEST_FRACTION)
    return TrainingReport(accuracy(classifier, test), time.perf_counter() - started)


def state_dict_bytes(classifier: DigitsClassifier) -> bytes:
    """The saved state dict; saved through a buffer, because ``torch.save`` to a path names the
    archive after the file, and the same weights must give the same bytes (and sha256) anywhere."""
    buffer = io.BytesIO()
    torch.save(classifier.state_dict(), buffer)
    return buffer.getvalue()


def fit(seed: int, epochs: int) -> DigitsClassifier:
    train, _ = digit_splits(CLASSIFIER_SIZE, SPLIT_SEED, TEST_FRACTION)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        classifier = DigitsClassifier()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    for _ in range(epochs):
        classifier.train()
        order = torch.randperm(len(train.labels), generator=generator)
        for batch in order.split(BATCH_SIZE):
            _, logits = classifier(shifted(train.images[batch], generator))
            loss = F.cross_entropy(logits, train.labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
    return classifier.requires_grad_(False).eval()
