"""Remedies as a suite setting: validated with file, line and key before anything trains, labelled
readably in grids, part of a trial's id only when there are any, and run from the command line
with every kind of loss."""

from __future__ import annotations

import pandas as pd
import pytest

from genbench.errors import SuiteError
from genbench.runner.ensembles import ensemble_key
from genbench.spec import ComponentSpec, TrialSpec
from genbench.suite import load_suite

from .conftest import TINY_SUITE, genbench_process

BASE_LINES = TINY_SUITE.strip().splitlines()

#: a spec resolved before remedies existed, with the id it had then
SPEC_BEFORE_REMEDIES = {
    "dataset": {"name": "ring8", "params": {"modes": 8, "radius": 2.0, "std": 0.02}},
    "loss": {"name": "ns", "params": {}},
    "metrics": [
        {"name": "modes", "params": {"min_count": 1, "quality_radius": 3.0}},
        {"name": "prdc", "params": {"k_density_coverage": 5, "k_precision_recall": 3}},
    ],
    "model": {"name": "mlp_gan", "params": {"depth": 2, "hidden": 16, "latent_dim": 2, "pack": 1}},
    "optimizer": {
        "name": "adam",
        "params": {
            "betas": [0.5, 0.999],
            "d_lr": None,
            "eps": 1e-08,
            "g_lr": None,
            "lr": 0.001,
            "weight_decay": 0.0,
        },
    },
    "penalty": None,
    "seed": 0,
    "train": {
        "batch_size": 32,
        "channels_last": False,
        "compile": False,
        "d_steps": 1,
        "eval_every": 20,
        "eval_samples": 256,
        "precision": "fp32",
        "reference_samples": None,
        "steps": 40,
    },
}
ID_BEFORE_REMEDIES = "343fc4b4c969"


def suite_with(replacements: dict[str, str], extra: str = "") -> str:
    """TINY_SUITE with whole lines replaced by key prefix, plus extra lines at the end (line 8 on)."""
    lines = [replacements.get(line.split(":")[0], line) for line in BASE_LINES]
    return "\n".join(lines) + "\n" + extra


IMAGES = {
    "dataset": "dataset: {name: digits, params: {size: 16}}",
    "model": "model: {name: dcgan, params: {latent_dim: 4, base_channels: 4, discriminator_norm: spectral}}",
    "metrics": "metrics: [prdc]",
}
VAE = {
    "model": "model: {name: vae_mlp, params: {latent_dim: 2, hidden: 8, depth: 1, likelihood: gaussian}}",
    "loss": "loss: elbo",
}

BAD_REMEDIES = [
    # (suite text, line, key, fragment of the message)
    (suite_with({}, "remedies: [emma]\n"), 8, "remedies[0]", "unknown remedy 'emma'. Did you mean 'ema'?"),
    (suite_with({}, "remedies: ema\n"), 8, "remedies", "expected a list of remedies from: diffaugment, ema"),
    (
        suite_with({}, "remedies: [{name: ema, params: {decay: 1.5}}]\n"),
        8,
        "remedies[0].params.decay",
        "less than 1",
    ),
    (suite_with({}, "remedies: [ema, instance_noise, ema]\n"), 8, "remedies[2]", "'ema' is named twice"),
    (
        suite_with({}, "remedies: [{name: ema, params: {start_step: 40}}]\n"),
        8,
        "remedies[0]",
        "start_step (40) is not below train.steps (40)",
    ),
    (suite_with({}, "remedies: [diffaugment]\n"), 8, "remedies[0]", "diffaugment transforms images"),
    (
        suite_with(IMAGES, "remedies: [{name: diffaugment, params: {policy: [color, cutout, color]}}]\n"),
        8,
        "remedies[0].params.policy",
        "names color more than once",
    ),
    (
        suite_with(IMAGES, "remedies: [{name: diffaugment, params: {policy: [colour]}}]\n"),
        8,
        "remedies[0].params.policy[0]",
        "'color', 'translation' or 'cutout'",
    ),
    (
        suite_with(IMAGES, "remedies: [spectral_norm]\n"),
        8,
        "remedies[0]",
        "already normalises its discriminator",
    ),
    (
        suite_with({"train": "train: {steps: 40, compile: true}"}, "remedies: [spectral_norm]\n"),
        8,
        "remedies[0]",
        "set train.compile: false",
    ),
    (
        suite_with(VAE, "remedies: [ema]\n"),
        8,
        "remedies",
        "remedies change GAN training, but model 'vae_mlp' is a VAE",
    ),
    (
        suite_with({"train": "train: {steps: 0, eval_samples: 256}"}, "remedies: [ema]\n"),
        8,
        "remedies",
        "this trial does not train",
    ),
    (
        suite_with({}, "grid:\n  remedies: [[], [ema], [emma]]\n"),
        9,
        "grid.remedies[2][0]",
        "unknown remedy 'emma'",
    ),
    (
        suite_with({}, "remedies: [emma]\ngrid:\n  remedies: [[], [ema]]\n"),
        8,
        "remedies[0]",
        "unknown remedy 'emma'",
    ),
]


@pytest.mark.parametrize(("text", "line", "key", "fragment"), BAD_REMEDIES)
def test_a_remedy_that_cannot_work_is_refused_at_its_file_line_and_key(
    write_suite, text, line, key, fragment
):
    path = write_suite(text)
    with pytest.raises(SuiteError) as raised:
        load_suite(path)
    error = raised.value
    assert (error.line, error.key) == (line, key), str(error)
    assert fragment in error.problem, error.problem


def test_remedies_are_resolved_with_their_defaults_in_the_written_order(write_suite):
    suite = load_suite(
        write_suite(suite_with({}, "remedies: [instance_noise, {name: ema, params: {decay: 0.99}}]\n"))
    )
    assert suite.trials[0].spec.remedies == (
        ComponentSpec(name="instance_noise", params={"std": 0.1, "anneal_steps": 0}),
        ComponentSpec(name="ema", params={"decay": 0.99, "start_step": 0}),
    )


def test_a_grid_of_remedy_lists_is_labelled_none_or_by_names_joined_with_plus(write_suite):
    suite = load_suite(
        write_suite(
            suite_with(
                {},
                "grid:\n  remedies:\n    - []\n    - [ema]\n    - [{name: unrolled, params: {steps: 5}}]\n"
                "    - [ema, instance_noise]\n",
            )
        )
    )
    assert [trial.grid["remedies"] for trial in suite.trials] == [
        "none",
        "ema",
        "unrolled(steps=5)",
        "ema+instance_noise",
    ]


def test_a_trial_without_remedies_keeps_the_id_and_serialisation_it_had_before_remedies():
    spec = TrialSpec.model_validate(SPEC_BEFORE_REMEDIES)
    assert spec.trial_id() == ID_BEFORE_REMEDIES
    assert spec.model_dump(mode="json") == SPEC_BEFORE_REMEDIES
    with_ema = spec.model_copy(update={"remedies": (ComponentSpec(name="ema", params={"decay": 0.9}),)})
    assert with_ema.trial_id() != ID_BEFORE_REMEDIES
    assert with_ema.model_dump(mode="json")["remedies"] == [{"name": "ema", "params": {"decay": 0.9}}]


def test_an_empty_remedy_list_is_the_trial_without_remedies(write_suite):
    plain = load_suite(write_suite(TINY_SUITE, "plain.yaml")).trials[0]
    empty = load_suite(write_suite(suite_with({}, "remedies: []\n"), "empty.yaml")).trials[0]
    assert empty.id == plain.id and empty.spec == plain.spec


def test_seeds_with_the_same_remedies_share_an_ensemble_and_user_remedies_train_alone(write_suite):
    suite = load_suite(
        write_suite(
            suite_with(
                {},
                "grid:\n  remedies: [[ema], [spectral_norm], [tests.remedy_probes:RawGeneratorWeights]]\n"
                "  seed: [0, 1]\n",
            )
        )
    )
    keys = [ensemble_key(trial.spec) for trial in suite.trials]
    assert keys[0] == keys[1] and keys[2] == keys[3] and keys[0] != keys[2]
    assert keys[4] is None and keys[5] is None


@pytest.mark.slow
def test_genbench_runs_a_grid_of_remedies_by_losses_and_writes_the_report(write_suite, tmp_path):
    path = write_suite("""
        name: remedies
        dataset: {name: ring8}
        model: {name: mlp_gan, params: {latent_dim: 2, hidden: 8, depth: 1}}
        optimizer: {name: adam, lr: 1.0e-3}
        train: {steps: 20, batch_size: 16, eval_every: 0, eval_samples: 64}
        metrics: [modes]
        grid:
          loss: [ns, wgan-gp, hinge]
          remedies:
            - []
            - [{name: ema, params: {decay: 0.9}}]
            - [{name: unrolled, params: {steps: 2}}]
            - [spectral_norm]
            - [{name: instance_noise, params: {anneal_steps: 10}}, ema]
        """)
    result = genbench_process(
        "run", path, "--out", tmp_path / "run", "--device", "cpu", "--quiet", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "15 trials: 15 finished" in result.stderr
    table = pd.read_csv(tmp_path / "run" / "results.csv")
    assert sorted(set(table["remedies"])) == sorted(
        [
            "none",
            "ema(decay=0.9)",
            "unrolled(steps=2)",
            "spectral_norm",
            "instance_noise(anneal_steps=10)+ema",
        ]
    )
    report = tmp_path / "run" / "report" / "report.md"
    assert "instance_noise(anneal_steps=10)+ema" in report.read_text()
