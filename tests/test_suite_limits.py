"""What a suite may not hold, refused by ``genbench validate`` and ``genbench run`` with one line
(``error: FILE:LINE: KEY: problem``) and exit code 2 before anything trains: non-finite numbers,
bad values that the grid overrides, files and grids too large to read or expand, trials too large
for the machine's memory, pickled weights files and missing data folders."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

import genbench.suite.checks
from genbench.cli import app
from genbench.errors import SuiteError
from genbench.settings import SHOWN_CHARS
from genbench.suite import load_suite
from genbench.suite.loader import MAX_SUITE_VALUES
from genbench.weights_files import weights_only_reason

from .conftest import TINY_SUITE, genbench_process

runner = CliRunner()


def validate(path, *options):
    """(exit code, output) of ``genbench validate``."""
    result = runner.invoke(app, ["validate", str(path), *options])
    return result.exit_code, result.output


def refused(path, line, key, fragment, *options):
    """Assert ``genbench validate`` refuses the suite with one line naming line and key."""
    code, output = validate(path, *options)
    assert code == 2, output
    assert output.startswith(f"error: {path}:{line}: {key}: "), output
    assert fragment in output, output
    assert output.count("\n") == 1, output


def tiny(old: str, new: str, extra: str = "") -> str:
    assert old in TINY_SUITE
    return TINY_SUITE.replace(old, new) + extra


# -- every number is finite ------------------------------------------------------------------


def test_infinite_learning_rate_is_refused(write_suite):
    path = write_suite(tiny("lr: 1.0e-3", "lr: .inf"))
    refused(path, 5, "optimizer.lr", "expected a finite number, got inf")


def test_infinite_learning_rate_is_refused_by_run_before_anything_trains(write_suite, tmp_path):
    path = write_suite(tiny("lr: 1.0e-3", "lr: .inf"))
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert f"error: {path}:5: optimizer.lr: expected a finite number" in result.output
    assert not (tmp_path / "run").exists()


def test_a_quoted_infinity_is_refused_where_a_number_is_expected(write_suite):
    path = write_suite(tiny("lr: 1.0e-3", "lr: '-inf', g_lr: 'nan'"))
    refused(path, 5, "optimizer.lr", "finite number")


def test_non_finite_values_in_user_code_parameters_are_refused(write_suite):
    path = write_suite(tiny("loss: ns", "loss: {name: 'my_pkg.losses:make', params: {scale: [1.0, .nan]}}"))
    refused(path, 4, "loss.params.scale[1]", "expected a finite number, got nan")


def test_non_finite_grid_values_are_refused(write_suite):
    path = write_suite(TINY_SUITE + "grid:\n  optimizer.lr: [1.0e-3,\n    -.inf]\n")
    refused(path, 10, "grid.optimizer.lr[1]", "expected a finite number, got -inf")


# -- values the grid overrides are checked too ---------------------------------------------------


def test_a_base_value_the_grid_overrides_is_still_validated(write_suite):
    path = write_suite(tiny("loss: ns", "loss: hingee", "grid:\n  loss: [hinge, ns]\n"))
    refused(path, 4, "loss", "unknown loss 'hingee'. Did you mean 'hinge'?")


def test_a_base_parameter_the_grid_overrides_is_still_validated(write_suite):
    text = tiny(
        "loss: ns",
        "loss: {name: wgan-gp, params: {gp_weight: -1}}",
        "grid:\n  loss.params.gp_weight: [1.0]\n",
    )
    refused(write_suite(text), 4, "loss.params.gp_weight", "greater than or equal to 0")


def test_a_base_optimizer_the_grid_replaces_is_still_validated(write_suite):
    text = tiny("lr: 1.0e-3", "lr: 1.0e-3, momentum: 0.9", "grid:\n  optimizer: [sgd, rmsprop]\n")
    refused(write_suite(text), 5, "optimizer.momentum", "unknown key 'momentum'")


def test_a_base_component_named_by_the_grid_is_not_refused(write_suite):
    text = tiny("model: {name: mlp_gan, params:", "model: {params:", "grid:\n  model.name: [mlp_gan]\n")
    (trial,) = load_suite(write_suite(text)).trials
    assert trial.spec.model.name == "mlp_gan" and trial.spec.model.params["hidden"] == 16


# -- limits of validation -------------------------------------------------------------------------


def alias_bomb(levels: int) -> str:
    """A YAML list of ``levels`` anchors, each holding nine aliases of the one before ("billion
    laughs"): a few hundred bytes that expand to 9^(levels-1) lists."""
    anchors = ["&a0 [lol]"]
    anchors += [f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "[" + ", ".join(anchors) + "]"


def test_an_alias_bomb_is_refused_by_a_real_process(write_suite):
    bomb = alias_bomb(9)
    path = write_suite(tiny("loss: ns", f"loss: {{name: 'my_pkg.losses:make', params: {{x: {bomb}}}}}"))
    result = genbench_process("validate", path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {path}:4: loss.params.x[")
    assert f"the file holds more than {MAX_SUITE_VALUES:,} values" in result.stderr
    assert result.stderr.count("\n") == 1 and len(result.stderr) < 600


def test_a_merge_key_bomb_is_refused(write_suite):
    mappings = ["m0: &m0 {a: 1}"]
    mappings += [f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 9)}]}}" for i in range(1, 9)]
    params = "{" + ", ".join(mappings) + "}"
    path = write_suite(tiny("loss: ns", f"loss: {{name: 'my_pkg.losses:make', params: {params}}}"))
    code, output = validate(path)
    assert code == 2 and output.startswith(f"error: {path}:4: loss.params.m")
    assert f"more than {MAX_SUITE_VALUES:,} values" in output


def test_a_huge_value_is_echoed_short(write_suite):
    path = write_suite(tiny("dataset: {name: ring8}", f"dataset: {alias_bomb(5)}"))
    code, output = validate(path)
    assert code == 2 and "expected a dataset name or {name: ..., params: {...}}; got [['lol']" in output
    assert output.rstrip().endswith("…") and len(output) < 2 * SHOWN_CHARS + 200


def test_a_huge_key_is_echoed_short(write_suite):
    key = "colour" * 150  # YAML allows plain keys up to 1,024 characters
    code, output = validate(write_suite(TINY_SUITE + f"{key}: red\n"))
    assert code == 2 and "unknown key 'colourcolour" in output and len(output) < 3 * SHOWN_CHARS + 200


def test_a_grid_is_counted_before_it_is_expanded(write_suite):
    seeds = ", ".join(str(seed) for seed in range(10_000))
    hidden = ", ".join(str(width) for width in range(1, 1001))
    path = write_suite(TINY_SUITE + f"grid:\n  seed: [{seeds}]\n  model.params.hidden: [{hidden}]\n")
    refused(
        path,
        8,
        "grid",
        "the grid expands to 10,000,000 trials (10000 (seed) x 1000 (model.params.hidden)), more than "
        "the limit of 10,000; shrink the grid, or raise the limit with --max-trials 10000000",
    )


def test_the_trial_limit_can_be_raised(write_suite):
    path = write_suite(TINY_SUITE + "grid:\n  seed: [0, 1, 2]\n  loss: [ns, hinge]\n")
    refused(path, 8, "grid", "6 trials", "--max-trials", "5")
    assert validate(path, "--max-trials", "6")[0] == 0
    assert len(load_suite(path, max_trials=6).trials) == 6
    with pytest.raises(SuiteError, match="--max-trials 6"):
        load_suite(path, max_trials=5)


# -- sizes that cannot fit ----------------------------------------------------------------------


def test_evaluation_samples_that_cannot_fit_are_refused(write_suite):
    path = write_suite(tiny("eval_samples: 256", "eval_samples: 10000000000"))
    refused(path, 6, "train.eval_samples", "metric 'modes' on 10,000,000,000 generated")


def test_a_batch_that_cannot_fit_is_refused(write_suite):
    path = write_suite(tiny("batch_size: 32", "batch_size: 1000000000000"))
    refused(path, 6, "train.batch_size", "batches of 1,000,000,000,000 samples")


def test_a_grid_value_that_cannot_fit_is_refused_at_its_line(write_suite):
    path = write_suite(TINY_SUITE + "grid:\n  train.eval_samples: [256, 10000000000]\n")
    refused(path, 9, "grid.train.eval_samples[1]", "needs at least")


def test_the_estimate_is_compared_with_this_machines_memory(write_suite, monkeypatch):
    path = write_suite(tiny("batch_size: 32", "batch_size: 1000000000000"))
    monkeypatch.setattr(genbench.suite.checks, "physical_memory_bytes", lambda: 2**60)
    assert validate(path)[0] == 0
    # prdc's 256 x 256 distances with their ball memberships alone take 320 KiB
    monkeypatch.setattr(genbench.suite.checks, "physical_memory_bytes", lambda: 2**18)
    refused(write_suite(TINY_SUITE, "small.yaml"), 6, "train.eval_samples", "machine's 256.0 KiB")


def test_digits_references_count_only_the_held_out_images(write_suite):
    """Digits references are distinct held-out images (about 450), however many are asked for."""
    text = tiny("dataset: {name: ring8}", "dataset: {name: digits, params: {size: 8}}").replace(
        "model: {name: mlp_gan, params: {latent_dim: 2, hidden: 16, depth: 2}}", "model: mlp_gan"
    )
    text = text.replace("eval_samples: 256", "eval_samples: 256, reference_samples: 100000000")
    assert len(load_suite(write_suite(text.replace("[modes, prdc]", "[prdc]"))).trials) == 1


def test_huge_steps_evaluated_often_are_refused(write_suite):
    path = write_suite(tiny("steps: 40", "steps: 1000000000000"))
    refused(path, 6, "train.steps", "make 50,000,000,000 evaluations, more than 10,000")


def test_huge_steps_evaluated_at_the_end_only_validate(write_suite):
    """Training itself holds nothing per step, so only the evaluation count is limited."""
    path = write_suite(tiny("steps: 40", "steps: 1000000000000").replace("eval_every: 20", "eval_every: 0"))
    assert validate(path)[0] == 0


# -- weights files are vetted at validation ------------------------------------------------------


class NotWeights:
    """An arbitrary object: unpickling it could run code."""


PRETRAINED = """
name: saved
dataset: ring8
model:
  name: pretrained
  params: {{format: {format}, path: {path}{extra}}}
train: {{steps: 0, eval_samples: 500}}
metrics: [modes]
"""


@pytest.mark.parametrize(
    ("format", "extra"),
    [("state_dict", ", latent_dim: 2, factory: 'tests.generators:ring_sampler'"), ("checkpoint", "")],
)
def test_a_pickled_pretrained_file_is_refused_at_validation(write_suite, tmp_path, format, extra):
    torch.save({"weights": NotWeights()}, tmp_path / "evil.pt")
    path = write_suite(PRETRAINED.format(format=format, path="evil.pt", extra=extra))
    refused(path, 5, "model.params.path", "Unsupported global: GLOBAL tests.test_suite_limits.NotWeights")
    output = validate(path)[1]
    assert "torch.save(model.state_dict(), path)" in output and "torch.export" in output
    assert "weights_only=False" not in output and "`False`" not in output and "safe_globals" not in output


def test_a_pickled_pretrained_file_is_refused_by_run_before_anything_trains(write_suite, tmp_path):
    torch.save({"weights": NotWeights()}, tmp_path / "evil.pt")
    path = write_suite(PRETRAINED.format(format="checkpoint", path="evil.pt", extra=""))
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2 and f"error: {path}:5: model.params.path: " in result.output
    assert not (tmp_path / "run").exists()


def test_a_plain_state_dict_is_accepted(write_suite, tmp_path):
    torch.save({"centres": torch.zeros(8, 2)}, tmp_path / "plain.pt")
    extra = ", latent_dim: 2, factory: 'tests.generators:ring_sampler'"
    assert validate(write_suite(PRETRAINED.format(format="state_dict", path="plain.pt", extra=extra)))[0] == 0


def test_a_pickled_metric_weights_file_is_refused_at_validation(write_suite, tmp_path):
    (tmp_path / "inception.pt").write_bytes(b"not a weights file")
    text = tiny(
        "metrics: [modes, prdc]",
        "metrics: [{name: fid, params: {feature_extractor: inception-v3-compat, "
        "feature_extractor_weights_path: inception.pt}}]",
    )
    refused(write_suite(text), 7, "metrics[0].params.feature_extractor_weights_path", "plain tensors")


def test_torchs_advice_to_load_unsafely_is_dropped():
    with pytest.raises(Exception) as raised:
        torch.load(pickled_file(), weights_only=True)
    assert "weights_only" in str(raised.value)
    reason = weights_only_reason(raised.value)
    assert reason.startswith("UnpicklingError: Unsupported global: GLOBAL tests.test_suite_limits.NotWeights")
    assert "weights_only" not in reason and "safe_globals" not in reason


def pickled_file():
    import io

    buffer = io.BytesIO()
    torch.save(NotWeights(), buffer)
    buffer.seek(0)
    return buffer


# -- data folders ---------------------------------------------------------------------------------


def test_a_missing_image_folder_is_refused(write_suite, tmp_path):
    text = tiny("dataset: {name: ring8}", "dataset: {name: image_folder, params: {root: faces, size: 16}}")
    path = write_suite(text.replace("metrics: [modes, prdc]", "metrics: [prdc]"))
    refused(path, 2, "dataset.params.root", f"no image folder at {tmp_path / 'faces'}")
    (tmp_path / "faces").mkdir()
    assert validate(path)[0] == 0


def test_a_missing_torchvision_root_is_refused_unless_downloaded(write_suite, tmp_path):
    dataset = "dataset: {name: torchvision, params: {name: MNIST, root: mnist, size: 16}}"
    text = tiny("dataset: {name: ring8}", dataset).replace("metrics: [modes, prdc]", "metrics: [prdc]")
    refused(write_suite(text), 2, "dataset.params.root", "or set download: true")
    assert validate(write_suite(text.replace("size: 16", "size: 16, download: true")))[0] == 0
