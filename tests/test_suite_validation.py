"""Suite files: every kind of bad input names the file, the line and the key; grids expand to
stable, fully resolved trials."""

from __future__ import annotations

import shutil

import pytest
import torch

from genbench.errors import GenbenchError, SuiteError
from genbench.suite import load_suite
from genbench.suite.grid import flatten, label

from .conftest import TINY_SUITE

BASE_LINES = TINY_SUITE.strip().splitlines()


def suite_with(replacements: dict[str, str], extra: str = "") -> str:
    """TINY_SUITE with whole lines replaced by key prefix, plus extra lines at the end."""
    lines = []
    for line in BASE_LINES:
        key = line.split(":")[0]
        lines.append(replacements.get(key, line))
    return "\n".join(lines) + "\n" + extra


BAD_SUITES = [
    # (suite text, line, key, fragment of the message)
    (suite_with({}, "colour: red\n"), 8, "colour", "unknown key 'colour'; allowed keys: name, description"),
    (suite_with({"loss": "loss: nss"}), 4, "loss", "unknown loss 'nss'. Did you mean 'ns'?"),
    (suite_with({"dataset": "dataset: {name: ring9}"}), 2, "dataset.name", "Did you mean 'ring8'?"),
    (
        suite_with({"train": "train: {steps: many, batch_size: 32}"}),
        6,
        "train.steps",
        "valid integer",
    ),
    (
        suite_with({"train": "train: {steps: 10, batch_size: 0}"}),
        6,
        "train.batch_size",
        "greater than or equal to 1",
    ),
    (
        suite_with({"train": "train: {steps: 10, epochs: 3}"}),
        6,
        "train.epochs",
        "unknown key 'epochs'; allowed keys: steps, batch_size",
    ),
    (
        suite_with({"optimizer": "optimizer: {name: adam, lr: -1}"}),
        5,
        "optimizer.lr",
        "greater than 0",
    ),
    (
        suite_with({"optimizer": "optimizer: {name: adam, momentum: 0.9}"}),
        5,
        "optimizer.momentum",
        "unknown key 'momentum'; allowed keys: lr, g_lr, d_lr, weight_decay, betas, eps",
    ),
    (
        suite_with({"optimizer": "optimizer: {name: adagrad}"}),
        5,
        "optimizer.name",
        "unknown optimizer 'adagrad'",
    ),
    (
        suite_with({"model": "model: {name: mlp_gan, params: {hiden: 3}}"}),
        3,
        "model.params.hiden",
        "allowed keys: latent_dim, hidden, depth, pack",
    ),
    (
        suite_with({"loss": "loss: {name: wgan-gp, params: {gp_weight: -1}}"}),
        4,
        "loss.params.gp_weight",
        "greater than or equal to 0",
    ),
    (suite_with({"metrics": "metrics: [modes, fid2]"}), 7, "metrics[1]", "unknown metric 'fid2'"),
    (
        suite_with({"metrics": "metrics: [modes, prdc, prc]"}),
        7,
        "metrics[2]",
        "metrics 'prdc' and 'prc' both write 'precision'; keep one",
    ),
    (suite_with({}, "grid:\n  loss: [ns, hinge, nss]\n"), 9, "grid.loss[2]", "unknown loss 'nss'"),
    (suite_with({}, "grid:\n  loss: ns\n"), 9, "grid.loss", "non-empty list"),
    (suite_with({}, "grid:\n  colour: [red]\n"), 9, "grid.colour", "must start with one of: dataset"),
    (
        suite_with({}, "grid:\n  model.params.hidden: [8, -3]\n"),
        9,
        "grid.model.params.hidden[1]",
        "greater than or equal to 1",
    ),
    (suite_with({}, "grid:\n  seed: [0, 0]\n"), 8, "grid", "same trial twice"),
    (suite_with({"loss": "loss: ns", "name": "name: tiny"}, "loss: hinge\n"), 8, "loss", "duplicate key"),
    (suite_with({"seed": ""}, "seed: -1\n"), 8, "seed", "non-negative integer"),
    (suite_with({"name": "name: my suite"}), 1, "name", "should match pattern"),
    ("name: x\ndataset: [ring8\n", 3, "(yaml)", "not valid YAML"),
    (
        suite_with({}, "grid:\n  loss: [ns, hinge]\nreport:\n  heatmap: [loss, optimiser]\n"),
        11,
        "report.heatmap[1]",
        "'optimiser' is not a grid key; grid keys: loss",
    ),
    (suite_with({"loss": ""}), 1, "loss", "training needs a loss"),
    (
        suite_with({}, "report:\n  metric: heldout_kl\n"),
        9,
        "report.metric",
        "'heldout_kl' has no better direction; choose one of: ",
    ),
    (
        suite_with({}, "report:\n  success: {metric: modes_coverd, threshold: 8}\n"),
        9,
        "report.success.metric",
        "'modes_coverd' is not a result key of any metric",
    ),
    (
        suite_with({}, "grid:\n  model.params.pack: [1, 3]\n"),
        6,
        "train.batch_size",
        "PacGAN pack=3 needs a batch size divisible by it, got 32",
    ),
    (
        suite_with(
            {"model": "model: {name: mlp_gan, params: {pack: 2, minibatch_std: true, minibatch_group: 3}}"}
        ),
        6,
        "train.batch_size",
        "minibatch_std groups of 3 do not divide the discriminator's 16 inputs per batch",
    ),
    (
        suite_with({}, "report:\n  compare: [mode_kl, mode_kls]\n"),
        9,
        "report.compare[1]",
        "'mode_kls' is not a result key of any metric",
    ),
]


@pytest.mark.parametrize(("text", "line", "key", "fragment"), BAD_SUITES)
def test_invalid_suite_names_file_line_key_and_problem(write_suite, text, line, key, fragment):
    path = write_suite(text)
    with pytest.raises(SuiteError) as raised:
        load_suite(path)
    error = raised.value
    assert (error.path, error.line, error.key) == (str(path), line, key), str(error)
    assert fragment in error.problem
    assert str(error).startswith(f"{path}:{line}: {key}: ")


def test_missing_suite_file_is_a_user_error(tmp_path):
    with pytest.raises(GenbenchError, match="no suite file"):
        load_suite(tmp_path / "nope.yaml")


def test_grid_expands_to_cross_product_in_written_order(write_suite):
    suite = load_suite(write_suite(TINY_SUITE + "grid:\n  loss: [ns, hinge, lsgan]\n  seed: [0, 1]\n"))
    assert suite.grid_keys == ("loss", "seed")
    assert [(t.grid["loss"], t.grid["seed"]) for t in suite.trials] == [
        ("ns", "0"),
        ("ns", "1"),
        ("hinge", "0"),
        ("hinge", "1"),
        ("lsgan", "0"),
        ("lsgan", "1"),
    ]
    assert len({trial.id for trial in suite.trials}) == 6


def test_trial_ids_are_stable_and_change_with_content(write_suite):
    first = load_suite(write_suite(TINY_SUITE, "a.yaml"))
    reformatted = load_suite(write_suite("# a comment\n" + TINY_SUITE.replace("ns", "'ns'"), "b.yaml"))
    changed = load_suite(write_suite(TINY_SUITE.replace("steps: 40", "steps: 41"), "c.yaml"))
    assert first.trials[0].id == reformatted.trials[0].id
    assert first.content_hash == reformatted.content_hash
    assert first.trials[0].id != changed.trials[0].id


def test_trials_are_fully_resolved_with_defaults(write_suite):
    spec = load_suite(write_suite(TINY_SUITE)).trials[0].spec
    assert spec.model.params == {"latent_dim": 2, "hidden": 16, "depth": 2, "pack": 1}
    assert spec.dataset.params == {"modes": 8, "radius": 2.0, "std": 0.02}
    assert spec.optimizer.params["betas"] == [0.5, 0.999]
    assert spec.metrics[0].params == {"min_count": 1, "quality_radius": 3.0}
    with pytest.raises(Exception, match="frozen"):
        spec.seed = 3


def test_grid_on_nested_parameter_of_a_shorthand_component(write_suite):
    text = TINY_SUITE.replace("dataset: {name: ring8}", "dataset: ring8") + (
        "grid:\n  dataset.params.std: [0.01, 0.05]\n"
    )
    suite = load_suite(write_suite(text))
    assert [t.spec.dataset.params["std"] for t in suite.trials] == [0.01, 0.05]
    assert suite.trials[0].grid == {"dataset.params.std": "0.01"}


def test_grid_labels_and_flattened_columns_of_mappings(write_suite):
    text = TINY_SUITE + (
        "grid:\n"
        "  loss: [ns, {name: wgan-gp, params: {gp_weight: 1.0}}]\n"
        "  optimizer: [{name: adam, lr: 2.0e-4, betas: [0.5, 0.999]}, {name: rmsprop, lr: 1.0e-4}]\n"
    )
    trials = load_suite(write_suite(text)).trials
    wgan_adam = trials[2]
    assert wgan_adam.grid == {
        "loss": "wgan-gp(gp_weight=1.0)",
        "optimizer": "adam(lr=0.0002, betas=[0.5, 0.999])",
    }
    assert wgan_adam.grid_columns == {
        "loss.name": "wgan-gp",
        "loss.params.gp_weight": 1.0,
        "optimizer.name": "adam",
        "optimizer.lr": 0.0002,
        "optimizer.betas": "[0.5, 0.999]",
    }


def test_label_and_flatten_of_plain_values():
    assert label("hinge") == "hinge"
    assert label(3) == "3"
    assert flatten("seed", 3) == {}


def test_user_code_is_accepted_by_reference_with_free_parameters(write_suite):
    text = TINY_SUITE.replace("loss: ns", "loss: {name: 'my_pkg.losses:make', params: {scale: 2}}")
    spec = load_suite(write_suite(text)).trials[0].spec
    assert spec.loss.name == "my_pkg.losses:make"
    assert spec.loss.params == {"scale": 2}


def test_evaluation_only_suite_needs_no_loss_or_optimizer(write_suite):
    text = (
        "\n".join(line for line in BASE_LINES if not line.startswith(("loss", "optimizer", "train")))
        + "\ntrain: {steps: 0, eval_samples: 100}\n"
    )
    spec = load_suite(write_suite(text)).trials[0].spec
    assert spec.loss is None and spec.optimizer is None and not spec.trains


def test_shipped_suites_are_valid(tmp_path):
    """Each validates where its data is: cifar10_dcgan reads CIFAR-10 from ../data/cifar10, which a
    checkout does not hold and validation requires (nothing downloads it)."""
    from .conftest import REPO

    shutil.copytree(REPO / "suites", tmp_path / "suites")
    (tmp_path / "data" / "cifar10").mkdir(parents=True)
    for path in sorted((tmp_path / "suites").glob("*.yaml")):
        assert load_suite(path).trials, path


def test_zipped_grid_key_varies_paths_together(write_suite):
    text = TINY_SUITE + (
        "grid:\n"
        "  model+loss:\n"
        "    - [{name: mlp_gan, params: {hidden: 8}}, ns]\n"
        "    - [{name: mlp_gan, params: {hidden: 4}}, {name: wgan-gp, params: {gp_weight: 1.0}}]\n"
        "  seed: [0, 1]\n"
    )
    suite = load_suite(write_suite(text))
    assert suite.grid_keys == ("model", "loss", "seed")
    assert [(t.grid["model"], t.grid["loss"]) for t in suite.trials[::2]] == [
        ("mlp_gan(hidden=8)", "ns"),
        ("mlp_gan(hidden=4)", "wgan-gp(gp_weight=1.0)"),
    ]
    assert suite.trials[2].spec.loss.params == {"gp_weight": 1.0}


def test_zipped_grid_errors_point_at_the_value(write_suite):
    text = TINY_SUITE + "grid:\n  model+loss:\n    - [mlp_gan, ns]\n    - [mlp_gan, nss]\n"
    with pytest.raises(SuiteError) as raised:
        load_suite(write_suite(text))
    assert (raised.value.line, raised.value.key) == (11, "grid.model+loss[1][1]")
    with pytest.raises(SuiteError, match="expected a list of 2 values, one for each of: model, loss"):
        load_suite(write_suite(TINY_SUITE + "grid:\n  model+loss: [mlp_gan]\n"))


def test_a_vae_objective_cannot_train_a_gan(write_suite):
    with pytest.raises(SuiteError, match="'elbo' is a VAE objective but model 'mlp_gan' is a GAN"):
        load_suite(write_suite(TINY_SUITE.replace("loss: ns", "loss: elbo")))


def test_feature_extractor_weights_are_found_relative_to_the_suite(write_suite, tmp_path):
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "inception.pt")
    text = TINY_SUITE.replace(
        "metrics: [modes, prdc]",
        "metrics: [{name: fid, params: {feature_extractor: inception-v3-compat, "
        "feature_extractor_weights_path: inception.pt}}]",
    )
    spec = load_suite(write_suite(text)).trials[0].spec
    assert spec.metrics[0].params["feature_extractor_weights_path"] == str(tmp_path / "inception.pt")
    with pytest.raises(SuiteError, match="no weights file at"):
        load_suite(write_suite(text.replace("inception.pt}", "missing.pt}")))


def test_a_parameter_called_name_is_part_of_the_label():
    """torchvision's dataset class is a parameter called ``name``: two classes, two labels."""
    from genbench.spec import ComponentSpec

    cifar = ComponentSpec(name="torchvision", params={"name": "CIFAR10", "root": "/data"})
    mnist = ComponentSpec(name="torchvision", params={"name": "MNIST", "root": "/data"})
    assert label(cifar) == "torchvision(name=CIFAR10, root=/data)"
    assert label(cifar) != label(mnist)


def test_a_misspelled_train_key_lists_the_run_options_among_the_allowed_keys(write_suite):
    """`checkpoint_every` and `timeout` are taken out of `train:` before it is validated as the
    spec's TrainSpec; a typo of them still lists them, and names the file, line and key."""
    suite = write_suite(TINY_SUITE.replace("eval_every: 20,", "eval_every: 20, checkpoint_evry: 5,"))
    with pytest.raises(SuiteError) as raised:
        load_suite(suite)
    message = str(raised.value)
    assert ".yaml:6: train.checkpoint_evry: unknown key 'checkpoint_evry'" in message
    assert message.endswith("compile, checkpoint_every, timeout")
