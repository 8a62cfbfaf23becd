"""FID, IS, KID and precision/recall through torch-fidelity: equal to torch-fidelity's own
``calculate_metrics`` on the same images, offline (digits-cnn, and an Inception-v3 with random
weights made here), with vetted weights files and a reference cache keyed on what features depend on."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from unittest import mock

import pytest
import torch
import torch_fidelity
from torch.utils.data import Dataset
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from genbench.catalog import DATASETS, METRICS
from genbench.data.digits import DigitsDataset, DigitSplit, draw
from genbench.errors import GenbenchError
from genbench.metrics.feature_cache import CACHE_ENV
from genbench.metrics.features import FeatureSpace, feature_space, to_uint8_rgb
from genbench.metrics.params import FeatureSpaceParams
from genbench.metrics.weights import resolve_weights

from .components import built


@pytest.fixture(autouse=True)
def feature_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


class Images(Dataset):
    """uint8 images as torch-fidelity's calculate_metrics takes them."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = to_uint8_rgb(images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


def torch_fidelity_values(
    generated: torch.Tensor, reference: torch.Tensor, metrics: tuple[str, ...], **settings
) -> dict[str, float]:
    return torch_fidelity.calculate_metrics(
        input1=Images(generated),
        input2=Images(reference),
        cuda=False,
        verbose=False,
        cache=False,
        save_cpu_ram=True,
        kid_subset_size=len(generated),
        **dict.fromkeys(metrics, True),
        **settings,
    )


def genbench_values(
    generated: torch.Tensor, reference: torch.Tensor, metrics: tuple[str, ...], isc_splits: int = 10, **space
) -> dict[str, float]:
    settings = {
        "fid": {},
        "isc": {"splits": isc_splits},
        "kid": {"subset_size": len(generated)},
        "prc": {"k_density_coverage": 3},
    }
    values: dict[str, float] = {}
    for name in metrics:
        values.update(built(METRICS, name, **settings[name], **space)(generated, reference, None).values)
    return values


#: genbench's key -> torch-fidelity's key
SAME_VALUES = {
    "fid": "frechet_inception_distance",
    "isc_mean": "inception_score_mean",
    "isc_std": "inception_score_std",
    "kid_mean": "kernel_inception_distance_mean",
    "kid_std": "kernel_inception_distance_std",
    "precision": "precision",
    "recall": "recall",
}


def assert_equal_to_torch_fidelity(ours: dict[str, float], theirs: dict[str, float]) -> None:
    compared = {key: theirs[key_theirs] for key, key_theirs in SAME_VALUES.items() if key_theirs in theirs}
    assert set(compared) == set(ours) - {"density", "coverage"}
    for key, value in compared.items():
        assert ours[key] == pytest.approx(value, rel=1e-5, abs=1e-9), key


@pytest.fixture(scope="module")
def digits() -> DigitsDataset:
    return built(DATASETS, "digits", size=16)


def one_class(split: DigitSplit, digit: int) -> DigitSplit:
    chosen = split.labels == digit
    return DigitSplit(split.images[chosen], split.labels[chosen])


def test_images_become_uint8_rgb_by_the_stated_rounding():
    images = torch.tensor([-1.5, -1.0, 0.0, 0.5, 1.0, 2.0]).reshape(1, 1, 1, 6)
    pixels = to_uint8_rgb(images)
    assert pixels.dtype == torch.uint8 and pixels.shape == (1, 3, 1, 6)
    expected = [0, 0, 128, 191, 255, 255]  # (x + 1) * 127.5 = 127.5 -> 128, 191.25 -> 191
    for channel in range(3):
        assert pixels[0, channel, 0].tolist() == expected


def test_digits_cnn_values_equal_torch_fidelity_calculate_metrics(digits):
    generated = digits.sample(300, torch.Generator().manual_seed(1))
    reference = digits.reference(300, torch.Generator().manual_seed(2))
    metrics = ("fid", "isc", "kid", "prc")
    theirs = torch_fidelity_values(generated, reference, metrics, feature_extractor="digits-cnn")
    ours = genbench_values(generated, reference, metrics, feature_extractor="digits-cnn")
    assert_equal_to_torch_fidelity(ours, theirs)


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory) -> Path:
    """Random Inception-v3 weights in torch-fidelity's layout, batch norm calibrated.

    With the initial running statistics (mean 0, variance 1) a random Inception's activations
    shrink layer after layer to near-zero features; one forward pass in training mode with
    cumulative averaging (momentum None) sets each batch norm to its input's statistics.
    """
    with (
        mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict"),
        mock.patch("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", return_value={}),
    ):
        torch.manual_seed(0)
        inception = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    for module in inception.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None
    inception.train()
    with torch.no_grad():
        inception(
            torch.randint(
                0, 256, (4, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
            )
        )
    path = tmp_path_factory.mktemp("inception") / "inception-random.pth"
    torch.save(inception.state_dict(), path)
    return path


def test_inception_values_equal_torch_fidelity_offline_with_a_local_weights_file(digits, inception_weights):
    """FID's equality is shown with digits-cnn above: with Inception's 2,048 features, each FID
    spends ~25 s on 2 CPU cores in the eigendecomposition of a 2,048 x 2,048 matrix."""
    generated = digits.sample(4, torch.Generator().manual_seed(1))
    reference = digits.reference(4, torch.Generator().manual_seed(2))
    space = {
        "feature_extractor": "inception-v3-compat",
        "feature_extractor_weights_path": str(inception_weights),
    }
    metrics = ("isc", "kid", "prc")
    ours = genbench_values(generated, reference, metrics, isc_splits=2, **space)
    theirs = torch_fidelity_values(generated, reference, metrics, isc_splits=2, **space)
    assert_equal_to_torch_fidelity(ours, theirs)
    features = feature_space("inception-v3-compat", str(inception_weights)).generated_features(generated, 64)
    assert features["2048"].std(dim=0).mean() > 1e-2, "calibrated features must not be degenerate"


def record_code_execution(marker: str) -> list[str]:
    EXECUTED.append(marker)
    return EXECUTED


EXECUTED: list[str] = []


class PickledCode:
    """Unpickling this object calls a function: the way a weights file can run code."""

    def __reduce__(self):
        return record_code_execution, ("ran",)


def test_weights_file_that_would_run_code_is_refused_before_torch_fidelity_opens_it(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"Conv2d_1a_3x3.conv.weight": torch.zeros(1), "payload": PickledCode()}, path)
    with pytest.raises(GenbenchError, match=r"weights_only=True"):
        built(
            METRICS, "fid", feature_extractor="inception-v3-compat", feature_extractor_weights_path=str(path)
        )
    assert EXECUTED == []


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(GenbenchError, match="is not a file"):
        built(METRICS, "kid", feature_extractor_weights_path=str(tmp_path / "x.pt"))


def test_unknown_feature_extractor_is_refused_by_the_parameters():
    with pytest.raises(ValueError, match="unknown feature extractor 'incepton'"):
        FeatureSpaceParams(feature_extractor="incepton")


def test_dinov2_weights_file_is_refused_since_torch_fidelity_cannot_load_one(tmp_path):
    (tmp_path / "w.pth").write_bytes(b"weights")
    with pytest.raises(ValueError, match="DINOv2"):
        FeatureSpaceParams.model_validate(
            {"feature_extractor": "dinov2-vit-s-14", "feature_extractor_weights_path": "w.pth"},
            context={"base_dir": str(tmp_path)},
        )


def counting_extractions(space: FeatureSpace, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patch the space to record how many images each extraction sees."""
    counts: list[int] = []
    extract = space.extract

    def counted(images: torch.Tensor, batch_size: int) -> dict[str, torch.Tensor]:
        counts.append(len(images))
        return extract(images, batch_size)

    monkeypatch.setattr(space, "extract", counted)
    return counts


def test_an_evaluation_extracts_generated_and_reference_features_once_for_all_metrics(digits, monkeypatch):
    feature_space.cache_clear()
    metrics = [built(METRICS, name) for name in ("fid", "isc", "kid", "prc")]
    counts = counting_extractions(metrics[0].space, monkeypatch)
    generated = digits.sample(200, torch.Generator().manual_seed(3))
    reference = digits.reference(100, torch.Generator().manual_seed(4))
    for metric in metrics:
        metric(generated, reference, digits)
    assert sorted(counts) == [100, 200]


def test_second_evaluation_reads_reference_features_from_the_disk_cache(
    digits, feature_cache_dir, monkeypatch
):
    reference = digits.reference(100, torch.Generator().manual_seed(4))
    first = digits.sample(200, torch.Generator().manual_seed(5))
    feature_space.cache_clear()
    built(METRICS, "fid")(first, reference, digits)
    assert len(list(feature_cache_dir.rglob("*.pt"))) == 1

    feature_space.cache_clear()  # as in a new process
    metric = built(METRICS, "fid")
    counts = counting_extractions(metric.space, monkeypatch)
    second = digits.sample(200, torch.Generator().manual_seed(6))
    metric(second, reference.clone(), digits)
    assert counts == [200]


def test_cache_entries_differ_by_reference_set_and_by_weights(digits, feature_cache_dir, tmp_path):
    generated = digits.sample(100, torch.Generator().manual_seed(7))
    built(METRICS, "fid")(generated, digits.reference(100, torch.Generator().manual_seed(8)), digits)
    built(METRICS, "fid")(generated, digits.reference(100, torch.Generator().manual_seed(9)), digits)
    built(METRICS, "fid")(generated, digits.reference(101, torch.Generator().manual_seed(9)), digits)
    assert len(list(feature_cache_dir.rglob("*.pt"))) == 3

    bundled = resolve_weights("digits-cnn", None).path
    same_weights = tmp_path / "copy.pt"
    shutil.copy(bundled, same_weights)
    other_weights = tmp_path / "other.pt"
    state = torch.load(bundled, weights_only=True)
    state["head.bias"] = state["head.bias"] + 0.5
    torch.save(state, other_weights)
    reference = digits.reference(100, torch.Generator().manual_seed(8))
    built(METRICS, "fid", feature_extractor_weights_path=str(same_weights))(generated, reference, digits)
    assert len(list(feature_cache_dir.rglob("*.pt"))) == 3
    built(METRICS, "fid", feature_extractor_weights_path=str(other_weights))(generated, reference, digits)
    assert len(list(feature_cache_dir.rglob("*.pt"))) == 4


def test_faithful_generator_scores_far_better_than_one_collapsed_to_one_class(digits):
    """Real train-split digits against the held-out reference, versus train digits of one class."""
    reference = digits.reference(500, torch.Generator().manual_seed(10))
    faithful = digits.sample(500, torch.Generator().manual_seed(11))
    collapsed, _ = draw(one_class(digits.train, 3), 500, torch.Generator().manual_seed(12))
    fid, prc, isc = (built(METRICS, name) for name in ("fid", "prc", "isc"))
    good = {**fid(faithful, reference, digits).values, **prc(faithful, reference, digits).values}
    bad = {**fid(collapsed, reference, digits).values, **prc(collapsed, reference, digits).values}
    assert bad["fid"] > 10 * good["fid"]
    assert good["recall"] > 0.8 and bad["recall"] < 0.2
    assert good["coverage"] > 0.8 and bad["coverage"] < 0.2
    assert isc(faithful, reference, digits).values["isc_mean"] > 8  # of at most 10 classes
    assert isc(collapsed, reference, digits).values["isc_mean"] < 1.5


def test_protocol_names_the_extractor_weights_hash_and_torch_fidelity_version():
    protocol = built(METRICS, "kid", subset_size=50).protocol()
    assert protocol["metric"] == "kid"
    assert protocol["feature_extractor"] == "digits-cnn"
    assert protocol["feature_space"] == "digits-cnn/features"
    assert len(protocol["feature_extractor_weights_sha256"]) == 64
    assert protocol["torch_fidelity"] == torch_fidelity.__version__
    assert protocol["subset_size"] == 50 and protocol["seed"] == 2020
    assert math.isfinite(protocol["metric_version"])


@pytest.mark.parametrize("name", ["fid", "isc", "kid", "prc", "stacked_modes"])
def test_catalog_entry_builds_the_metric_from_its_default_parameters(name):
    metric = built(METRICS, name)
    assert metric.protocol()["metric"] == name
