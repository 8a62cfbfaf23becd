"""Mode counting on stacked digits (1,000 modes): a collapsed generator covers few modes, real
held-out stacks (the oracle) cover all of them at the finite-sample KL floor."""

from __future__ import annotations

import math

import pytest
import torch

from genbench.catalog import DATASETS, METRICS
from genbench.data.digits import DigitSplit, StackedDigitsDataset, draw
from genbench.errors import GenbenchError
from genbench.metrics.feature_cache import CACHE_ENV
from genbench.metrics.stacked_modes import count_modes

from .components import built

PROTOCOL_SAMPLES = 26_000
MODES = 1000


@pytest.fixture(autouse=True)
def feature_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def stacked() -> StackedDigitsDataset:
    return built(DATASETS, "stacked_digits", size=16)


def stacks_of_digits_below(dataset: StackedDigitsDataset, digit: int, count: int, seed: int) -> torch.Tensor:
    """A generator collapsed onto stacks of the digits 0 .. digit-1 (digit^3 true modes)."""
    kept = dataset.train.labels < digit
    split = DigitSplit(dataset.train.images[kept], dataset.train.labels[kept])
    generator = torch.Generator().manual_seed(seed)
    return torch.cat([draw(split, count, generator)[0] for _ in range(3)], dim=1)


def test_uniform_labels_have_kl_zero_and_a_point_mass_log_k():
    uniform = count_modes(torch.arange(MODES).repeat(3), MODES, min_count=3)
    assert uniform.mode_kl == pytest.approx(0.0, abs=1e-12)
    assert uniform.covered_modes == list(range(MODES))
    point = count_modes(torch.full((500,), 7), MODES, min_count=1)
    assert point.mode_kl == pytest.approx(math.log(MODES))
    assert point.covered_modes == [7]


def test_a_mode_counts_only_with_min_count_samples():
    labels = torch.tensor([1, 1, 1, 2, 2, 3])
    assert count_modes(labels, 10, min_count=2).covered_modes == [1, 2]
    assert count_modes(labels, 10, min_count=3).covered_modes == [1]


def test_oracle_covers_all_modes_near_the_finite_sample_kl_floor(stacked):
    generated = stacked.sample(PROTOCOL_SAMPLES, torch.Generator().manual_seed(1))
    values = built(METRICS, "stacked_modes")(generated, generated, stacked).values
    assert values["oracle_modes_covered"] >= 995
    floor = (MODES - 1) / (2 * PROTOCOL_SAMPLES)  # E KL of a uniform histogram of N draws
    assert floor < values["oracle_mode_kl"] < 1.5 * floor
    # real train-split stacks are a perfect generator: they score like the oracle
    assert values["modes_covered"] >= 995
    assert values["mode_kl"] < 1.5 * floor


def test_collapsed_generator_covers_only_its_modes_while_the_oracle_covers_all(stacked):
    collapsed = stacks_of_digits_below(stacked, 5, PROTOCOL_SAMPLES, seed=2)
    result = built(METRICS, "stacked_modes")(collapsed, collapsed, stacked)
    assert 125 <= result.values["modes_covered"] <= 135  # 5^3 true modes, a few misread ones
    assert result.values["mode_kl"] > 0.95 * math.log(MODES / 125)
    assert result.values["oracle_modes_covered"] >= 995
    assert len(result.covered_modes) == result.values["modes_covered"]


def test_without_min_count_classifier_errors_inflate_the_collapsed_count(stacked):
    collapsed = stacks_of_digits_below(stacked, 5, PROTOCOL_SAMPLES, seed=2)
    raw = built(METRICS, "stacked_modes", min_count=1)(collapsed, collapsed, stacked).values["modes_covered"]
    assert raw > 150


def test_mode_counting_needs_stacked_digits():
    digits = built(DATASETS, "digits", size=16)
    images = digits.sample(10, torch.Generator().manual_seed(0))
    with pytest.raises(GenbenchError, match="stacked_digits"):
        built(METRICS, "stacked_modes")(images, images, digits)


def test_protocol_states_min_count_and_the_classifier_weights():
    protocol = built(METRICS, "stacked_modes", min_count=7).protocol()
    assert protocol["metric"] == "stacked_modes"
    assert protocol["min_count"] == 7
    assert protocol["feature_extractor"] == "stacked-digits-cnn"
    assert len(protocol["feature_extractor_weights_sha256"]) == 64
