"""An ensemble's members evaluated at once (samples [E, N, ...], one shared reference set) score what
each member scores alone: the mode metrics and PRDC exactly, the torch-fidelity metrics to float
tolerance (the extractor sees the images in other batches). The members differ in quality, so that
a result handed to the wrong member would show."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genbench.catalog import DATASETS, METRICS
from genbench.data.digits import DigitSplit, draw
from genbench.metrics import prdc
from genbench.metrics.base import MetricResult, evaluate_members
from genbench.metrics.feature_cache import CACHE_ENV
from genbench.metrics.features import feature_space

from .components import built
from .test_fidelity import counting_extractions

SAMPLES = 300
#: fewer KID subsets than the default 100, which take seconds at this sample count
FIDELITY_SETTINGS = {"fid": {}, "isc": {}, "kid": {"subsets": 10}, "prc": {}}


@pytest.fixture(autouse=True)
def feature_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def separately(metric, generated: torch.Tensor, reference: torch.Tensor, dataset) -> list[MetricResult]:
    return [metric(member, reference, dataset) for member in generated]


@pytest.fixture(scope="module")
def ring():
    return built(DATASETS, "ring8")


@pytest.fixture(scope="module")
def ring_members(ring) -> torch.Tensor:
    """A faithful member, one collapsed onto modes 0 and 3, one with noise of three times the
    modes' standard deviation."""
    generator = torch.Generator().manual_seed(0)
    faithful = ring.sample(SAMPLES, generator)
    on_two_modes = ring.mode_centres[torch.tensor([0, 3]).repeat(SAMPLES // 2)]
    collapsed = on_two_modes + ring.mode_std * torch.randn(SAMPLES, 2, generator=generator)
    noisy = ring.sample(SAMPLES, generator) + 3 * ring.mode_std * torch.randn(SAMPLES, 2, generator=generator)
    return torch.stack([faithful, collapsed, noisy])


@pytest.fixture(scope="module")
def ring_reference(ring) -> torch.Tensor:
    return ring.sample(400, torch.Generator().manual_seed(1))


@pytest.mark.parametrize("params", [{}, {"min_count": 20, "quality_radius": 2.0}])
def test_mode_metric_members_equal_separate_evaluations(ring, ring_members, ring_reference, params):
    metric = built(METRICS, "modes", **params)
    together = metric.evaluate_members(ring_members, ring_reference, ring)
    assert together == separately(metric, ring_members, ring_reference, ring)
    assert together[1].covered_modes == [0, 3]
    assert len({result.values["hq_fraction"] for result in together}) == 3


def test_prdc_members_equal_separate_evaluations(ring, ring_members, ring_reference):
    metric = built(METRICS, "prdc")
    together = metric.evaluate_members(ring_members, ring_reference, ring)
    assert together == separately(metric, ring_members, ring_reference, ring)
    assert len({result.values["coverage"] for result in together}) == 3


def recording_lengths(module, name: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patch the module's function to record the length of its first argument at each call."""
    lengths: list[int] = []
    function = getattr(module, name)

    def recorded(first, *args):
        lengths.append(len(first))
        return function(first, *args)

    monkeypatch.setattr(module, name, recorded)
    return lengths


def test_prdc_computes_the_reference_radii_once_for_all_members(
    ring, ring_members, ring_reference, monkeypatch
):
    reference_sets = recording_lengths(prdc, "real_balls", monkeypatch)
    built(METRICS, "prdc").evaluate_members(ring_members, ring_reference, ring)
    assert reference_sets == [len(ring_reference)]


def test_prdc_takes_as_many_members_at_once_as_their_distances_fit_in_the_memory_budget(
    ring, ring_members, ring_reference, monkeypatch
):
    """A member's fake-fake and real-fake float32 distances take 4 N (N + M) bytes; a budget of
    two members' evaluates the three as two and one, with the values of separate evaluations."""
    member_bytes = 4 * SAMPLES * (SAMPLES + len(ring_reference))
    monkeypatch.setattr(prdc, "DISTANCE_BLOCK_BYTES", 2 * member_bytes + 1)
    chunks = recording_lengths(prdc, "chunk_values", monkeypatch)
    metric = built(METRICS, "prdc")
    together = metric.evaluate_members(ring_members, ring_reference, ring)
    assert chunks == [2, 1]
    assert together == separately(metric, ring_members, ring_reference, ring)


class PerSampleMean:
    """A metric without ``evaluate_members``, that records how it was called."""

    def __init__(self) -> None:
        self.calls: list[tuple[torch.Tensor, dict]] = []

    def __call__(self, generated, reference, dataset, **kwargs) -> MetricResult:
        self.calls.append((generated, kwargs))
        return MetricResult(values={"mean": generated.mean().item()})


def test_helper_calls_a_metric_without_the_method_once_per_member_with_its_arguments(ring_members):
    metric = PerSampleMean()
    results = evaluate_members(metric, ring_members, ring_members[0], None, networks="parts")
    assert [result.values["mean"] for result in results] == [member.mean().item() for member in ring_members]
    assert len(metric.calls) == 3
    for (generated, kwargs), member in zip(metric.calls, ring_members, strict=True):
        assert torch.equal(generated, member) and kwargs == {"networks": "parts"}


def test_helper_uses_the_metrics_own_method(ring, ring_members, ring_reference, monkeypatch):
    metric = built(METRICS, "modes")
    monkeypatch.setattr(type(metric), "__call__", lambda *args: pytest.fail("called per member"))
    results = evaluate_members(metric, ring_members, ring_reference, ring)
    assert [result.covered_modes for result in results][1] == [0, 3]


@pytest.fixture(scope="module")
def digits():
    return built(DATASETS, "digits", size=16)


def of_digits_below(split: DigitSplit, digit: int, count: int, generator: torch.Generator) -> torch.Tensor:
    kept = split.labels < digit
    return draw(DigitSplit(split.images[kept], split.labels[kept]), count, generator)[0]


@pytest.fixture(scope="module")
def digit_members(digits) -> torch.Tensor:
    """A faithful member, one collapsed onto the digits 0 and 1, one with added noise."""
    generator = torch.Generator().manual_seed(2)
    faithful = digits.sample(SAMPLES, generator)
    collapsed = of_digits_below(digits.train, 2, SAMPLES, generator)
    noisy = digits.sample(SAMPLES, generator) + 0.5 * torch.randn(faithful.shape, generator=generator)
    return torch.stack([faithful, collapsed, noisy])


@pytest.fixture(scope="module")
def digit_reference(digits) -> torch.Tensor:
    return digits.reference(200, torch.Generator().manual_seed(3))


def assert_close_results(together: list[MetricResult], apart: list[MetricResult]) -> None:
    assert len(together) == len(apart)
    for member_together, member_apart in zip(together, apart, strict=True):
        assert member_together.values.keys() == member_apart.values.keys()
        for key, value in member_apart.values.items():
            assert member_together.values[key] == pytest.approx(value, rel=1e-5, abs=1e-9), key


@pytest.mark.parametrize("name", ["fid", "isc", "kid", "prc"])
def test_fidelity_metric_members_equal_separate_evaluations(name, digits, digit_members, digit_reference):
    metric = built(METRICS, name, **FIDELITY_SETTINGS[name])
    together = metric.evaluate_members(digit_members, digit_reference, digits)
    assert_close_results(together, separately(metric, digit_members, digit_reference, digits))
    assert len({next(iter(result.values.values())) for result in together}) == 3


def test_members_features_are_extracted_in_one_pass_for_all_metrics(
    digits, digit_members, digit_reference, monkeypatch
):
    feature_space.cache_clear()
    metrics = [built(METRICS, name, **settings) for name, settings in FIDELITY_SETTINGS.items()]
    counts = counting_extractions(metrics[0].space, monkeypatch)
    for metric in metrics:
        evaluate_members(metric, digit_members, digit_reference, digits)
    assert sorted(counts) == [len(digit_reference), 3 * SAMPLES]


@pytest.fixture(scope="module")
def stacked():
    return built(DATASETS, "stacked_digits", size=16)


def test_stacked_modes_members_equal_separate_evaluations(stacked):
    generator = torch.Generator().manual_seed(4)
    collapsed = torch.cat([of_digits_below(stacked.train, 3, SAMPLES, generator) for _ in range(3)], dim=1)
    members = torch.stack([stacked.sample(SAMPLES, generator), collapsed, stacked.sample(SAMPLES, generator)])
    metric = built(METRICS, "stacked_modes", min_count=1)
    together = metric.evaluate_members(members, members[0], stacked)
    assert together == separately(metric, members, members[0], stacked)
    assert len(together[1].covered_modes) < 50 < len(together[0].covered_modes)
