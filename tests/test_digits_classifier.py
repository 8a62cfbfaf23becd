"""The digits classifier behind digits-cnn and stacked-digits-cnn: accurate, reproducible, and
usable through torch-fidelity's registry."""

from __future__ import annotations

import torch
from torch_fidelity.utils import create_feature_extractor

from genbench.data.digits import DIGIT_CLASSES, digit_splits
from genbench.hashing import file_sha256
from genbench.metrics.extractors.digits_cnn import BUNDLED_WEIGHTS, load_classifier
from genbench.metrics.extractors.training import (
    SPLIT_SEED,
    TEST_FRACTION,
    accuracy,
    train_digits_classifier,
)
from genbench.metrics.features import to_uint8_rgb


def test_bundled_classifier_is_accurate_on_the_held_out_digits():
    _, test = digit_splits(16, SPLIT_SEED, TEST_FRACTION)
    assert accuracy(load_classifier(BUNDLED_WEIGHTS), test) >= 0.98


def test_bundled_weights_file_is_small_enough_to_live_in_git():
    assert BUNDLED_WEIGHTS.stat().st_size < 200_000


def test_training_is_reproducible_to_the_byte(tmp_path):
    first, second = tmp_path / "a.pt", tmp_path / "b.pt"
    train_digits_classifier(first, seed=3, epochs=1)
    report = train_digits_classifier(second, seed=3, epochs=1)
    assert file_sha256(first) == file_sha256(second)
    assert report.test_accuracy > 0.5  # one epoch already learns the digits


def digits_extractor(name: str, features: list[str]):
    return create_feature_extractor(name, features, cuda=False, verbose=False)


def test_digits_cnn_is_registered_in_torch_fidelity_and_gives_features_and_logits():
    _, test = digit_splits(16, SPLIT_SEED, TEST_FRACTION)
    extractor = digits_extractor("digits-cnn", ["features", "logits"])
    with torch.no_grad():
        features, logits = extractor(to_uint8_rgb(test.images))
    assert features.shape == (len(test.labels), 64)
    assert logits.shape == (len(test.labels), DIGIT_CLASSES)
    assert (logits.argmax(dim=1) == test.labels).double().mean() >= 0.98


def test_digits_cnn_classifies_digits_of_any_size():
    test_32 = digit_splits(32, SPLIT_SEED, TEST_FRACTION)[1]
    extractor = digits_extractor("digits-cnn", ["logits"])
    with torch.no_grad():
        (logits,) = extractor(to_uint8_rgb(test_32.images))
    assert (logits.argmax(dim=1) == test_32.labels).double().mean() >= 0.97


def test_stacked_digits_cnn_labels_a_stack_by_its_three_channels():
    _, test = digit_splits(16, SPLIT_SEED, TEST_FRACTION)
    generator = torch.Generator().manual_seed(0)
    channels = [torch.randint(len(test.labels), (50,), generator=generator) for _ in range(3)]
    stacks = torch.cat([test.images[index] for index in channels], dim=1)
    classifier = load_classifier(BUNDLED_WEIGHTS)
    with torch.no_grad():
        digits = [classifier(test.images[index])[1].argmax(dim=1) for index in channels]
        features, logits = digits_extractor("stacked-digits-cnn", ["features", "logits"])(
            to_uint8_rgb(stacks)
        )
    assert features.shape == (50, 3 * 64)
    assert logits.shape == (50, DIGIT_CLASSES**3)
    assert torch.equal(logits.argmax(dim=1), 100 * digits[0] + 10 * digits[1] + digits[2])
    probabilities = logits.exp().sum(dim=1)  # the logits are log p(r) + log p(g) + log p(b)
    assert torch.allclose(probabilities, torch.ones(50), atol=1e-4)
