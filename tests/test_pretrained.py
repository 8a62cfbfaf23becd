"""Saved generators are evaluated through a suite file, without training ("train or load")."""

from __future__ import annotations

import warnings

import pytest
import torch

from genbench.errors import GenbenchError, SuiteError
from genbench.store import RunStore
from genbench.suite import load_suite

from .components import built
from .conftest import run_dir_of
from .generators import MixtureSampler, export_sampler

PRETRAINED_SUITE = """
name: saved
dataset: ring8
model:
  name: pretrained
  params: {{format: {format}, path: {path}, latent_dim: 3{extra}}}
train: {{steps: 0, eval_samples: 2500}}
metrics: [modes, prdc]
"""


def evaluate_saved(write_suite, tmp_path, format, path, extra=""):
    suite = write_suite(PRETRAINED_SUITE.format(format=format, path=path, extra=extra))
    run_dir = run_dir_of(suite, tmp_path / "run", device="cpu", quiet=True, workers=1)
    (record,) = RunStore(run_dir).records()
    return record


def test_exported_true_mixture_scores_chi2_hq_fraction_and_all_modes(write_suite, tmp_path):
    export_sampler(tmp_path / "true.pt2")
    record = evaluate_saved(write_suite, tmp_path, "export", "true.pt2")
    assert record.status.value == "finished", record.error
    assert record.metrics["hq_fraction"] == pytest.approx(0.989, abs=0.01)
    assert record.metrics["modes_covered"] == 8
    assert record.metrics["density"] == pytest.approx(1.0, abs=0.1)


def test_exported_three_mode_generator_covers_exactly_three(write_suite, tmp_path):
    export_sampler(tmp_path / "three.pt2", modes=[0, 3, 5])
    record = evaluate_saved(write_suite, tmp_path, "export", "three.pt2")
    assert record.metrics["modes_covered"] == 3
    assert [mode_set.modes for mode_set in record.covered_modes] == [[0, 3, 5]]
    assert record.metrics["recall"] < 0.5


def test_grid_over_saved_paths_compares_generators(write_suite, tmp_path):
    export_sampler(tmp_path / "a.pt2")
    export_sampler(tmp_path / "b.pt2", modes=[1])
    text = PRETRAINED_SUITE.format(format="export", path="a.pt2", extra="")
    suite = write_suite(text + "grid:\n  model.params.path: [a.pt2, b.pt2]\n")
    run_dir = run_dir_of(suite, tmp_path / "run", device="cpu", quiet=True, workers=1)
    covered = {r.grid["model.params.path"]: r.metrics["modes_covered"] for r in RunStore(run_dir).records()}
    assert covered == {"a.pt2": 8, "b.pt2": 1}


def test_state_dict_with_factory_loads_weights_only(write_suite, tmp_path):
    torch.save(MixtureSampler([2, 6]).state_dict(), tmp_path / "weights.pt")
    extra = ", factory: 'tests.generators:ring_sampler', factory_kwargs: {modes: [2, 6]}"
    record = evaluate_saved(write_suite, tmp_path, "state_dict", "weights.pt", extra)
    assert record.metrics["modes_covered"] == 2


class NotWeights:
    """An arbitrary object: unpickling it could run code, so weights_only loading must refuse it."""


def test_state_dict_holding_arbitrary_objects_is_refused_when_the_suite_loads(write_suite, tmp_path):
    torch.save({"centres": NotWeights()}, tmp_path / "evil.pt")
    extra = ", factory: 'tests.generators:ring_sampler'"
    text = PRETRAINED_SUITE.format(format="state_dict", path="evil.pt", extra=extra)
    with pytest.raises(SuiteError, match="Unsupported global") as refused:
        load_suite(write_suite(text))
    assert refused.value.key == "model.params.path"
    assert "weights_only=False" not in str(refused.value)


def test_torchscript_generator_still_loads(write_suite, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(MixtureSampler([4])), str(tmp_path / "legacy.pt"))
    record = evaluate_saved(write_suite, tmp_path, "torchscript", "legacy.pt")
    assert record.metrics["modes_covered"] == 1


def test_generator_with_wrong_output_shape_fails_with_a_clear_message(write_suite, tmp_path):
    program = torch.export.export(
        torch.nn.Linear(3, 5), (torch.randn(8, 3),), dynamic_shapes=({0: torch.export.Dim("batch")},)
    )
    torch.export.save(program, str(tmp_path / "wide.pt2"))
    record = evaluate_saved(write_suite, tmp_path, "export", "wide.pt2")
    assert record.status.value == "failed"
    assert "shape (2500, 5); the dataset needs (2500, 2)" in record.error


def test_missing_file_and_training_a_saved_generator_are_suite_errors(write_suite, tmp_path):
    with pytest.raises(SuiteError, match="no file at"):
        load_suite(write_suite(PRETRAINED_SUITE.format(format="export", path="gone.pt2", extra="")))
    export_sampler(tmp_path / "a.pt2")
    text = PRETRAINED_SUITE.format(format="export", path="a.pt2", extra="").replace("steps: 0", "steps: 5")
    with pytest.raises(SuiteError, match="only evaluated"):
        load_suite(write_suite(text))


def test_state_dict_without_factory_is_a_suite_error(write_suite, tmp_path):
    torch.save({}, tmp_path / "w.pt")
    with pytest.raises(GenbenchError, match="needs 'factory"):
        load_suite(write_suite(PRETRAINED_SUITE.format(format="state_dict", path="w.pt", extra="")))


def test_changed_weights_file_changes_the_trial_id(write_suite, tmp_path):
    export_sampler(tmp_path / "g.pt2")
    suite_path = write_suite(PRETRAINED_SUITE.format(format="export", path="g.pt2", extra=""))
    before = load_suite(suite_path).trials[0].id
    export_sampler(tmp_path / "g.pt2", modes=[0])
    assert load_suite(suite_path).trials[0].id != before


def test_checkpoint_of_one_run_is_reevaluated_in_another(write_suite, tmp_path):
    from .conftest import TINY_SUITE

    trained_dir = run_dir_of(
        write_suite(TINY_SUITE, "train.yaml"), tmp_path / "train", device="cpu", quiet=True, workers=1
    )
    (trained,) = RunStore(trained_dir).records()
    checkpoint = RunStore(trained_dir).trial_dir(trained.id) / "checkpoint.pt"
    assert checkpoint.is_file()
    text = (
        "name: reeval\ndataset: ring8\n"
        f"model: {{name: pretrained, params: {{format: checkpoint, path: '{checkpoint}'}}}}\n"
        "train: {steps: 0, eval_samples: 256}\nmetrics: [modes, prdc]\n"
    )
    (reevaluated,) = RunStore(
        run_dir_of(write_suite(text), tmp_path / "eval", device="cpu", quiet=True, workers=1)
    ).records()
    # same seed, same evaluation latents and reference set: the very same numbers
    assert reevaluated.metrics == trained.metrics


def test_checkpoint_for_other_data_is_refused(write_suite, tmp_path):
    from .conftest import TINY_SUITE

    trained_dir = run_dir_of(
        write_suite(TINY_SUITE, "train.yaml"), tmp_path / "train", device="cpu", quiet=True, workers=1
    )
    (trained,) = RunStore(trained_dir).records()
    checkpoint = RunStore(trained_dir).trial_dir(trained.id) / "checkpoint.pt"
    text = (
        "name: reeval\ndataset: digits\n"
        f"model: {{name: pretrained, params: {{format: checkpoint, path: '{checkpoint}'}}}}\n"
        "train: {steps: 0, eval_samples: 64}\nmetrics: [prdc]\n"
    )
    (record,) = RunStore(
        run_dir_of(write_suite(text), tmp_path / "eval", device="cpu", quiet=True, workers=1)
    ).records()
    assert record.status.value == "failed"
    assert "trained on data of shape (2,)" in record.error


class HeldOutDigits(torch.nn.Module):
    """A 'generator' that returns held-out digits (the data distribution) or, with
    ``only_class``, the held-out images of one class (a generator collapsed onto one mode)."""

    def __init__(self, only_class: int | None = None) -> None:
        super().__init__()
        from genbench.catalog import DATASETS

        test = built(DATASETS, "digits").test
        images = test.images if only_class is None else test.images[test.labels == only_class]
        self.register_buffer("images", images.clone())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        index = (torch.special.ndtr(z[:, 0]) * self.images.shape[0]).long().clamp(0, self.images.shape[0] - 1)
        return self.images[index]


def export_digits(path, only_class: int | None = None) -> None:
    program = torch.export.export(
        HeldOutDigits(only_class), (torch.randn(64, 4),), dynamic_shapes={"z": {0: torch.export.Dim("batch")}}
    )
    torch.export.save(program, str(path))


IMAGE_SUITE = """
name: saved_digits
dataset: digits
model: {name: pretrained, params: {format: export, path: real.pt2, latent_dim: 4}}
train: {steps: 0, eval_samples: 1000}
metrics:
  - {name: fid, params: {feature_extractor: digits-cnn}}
  - {name: prc, params: {feature_extractor: digits-cnn}}
grid:
  model.params.path: [real.pt2, ones.pt2]
"""


def test_exported_image_generator_is_evaluated_through_a_suite(write_suite, tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / "cache"))
    export_digits(tmp_path / "real.pt2")
    export_digits(tmp_path / "ones.pt2", only_class=1)
    run_dir = run_dir_of(write_suite(IMAGE_SUITE), tmp_path / "run", device="cpu", quiet=True, workers=1)
    records = {r.grid["model.params.path"]: r for r in RunStore(run_dir).records()}
    real, collapsed = records["real.pt2"], records["ones.pt2"]
    assert real.status.value == collapsed.status.value == "finished", (real.error, collapsed.error)
    assert real.metrics["fid"] < collapsed.metrics["fid"] / 5
    assert real.metrics["recall"] > 0.5 > collapsed.metrics["recall"]
    assert real.protocols["fid"]["eval_samples"] == 1000


def test_image_generator_outside_minus_one_one_is_refused(write_suite, tmp_path):
    class ZeroTo255(torch.nn.Module):
        def forward(self, z):
            return torch.sigmoid(z[:, :1, None, None].expand(-1, 1, 16, 16)) * 255

    program = torch.export.export(
        ZeroTo255(), (torch.randn(8, 4),), dynamic_shapes={"z": {0: torch.export.Dim("batch")}}
    )
    torch.export.save(program, str(tmp_path / "real.pt2"))
    text = IMAGE_SUITE.split("grid:")[0]
    (record,) = RunStore(
        run_dir_of(write_suite(text), tmp_path / "run", device="cpu", quiet=True, workers=1)
    ).records()
    assert record.status.value == "failed"
    assert "genbench expects [-1, 1]" in record.error
