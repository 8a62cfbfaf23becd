"""Training a suite: determinism, divergence and failure isolation, resume, records and tables."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from genbench.records import TrialStatus
from genbench.store import RunStore
from genbench.suite import load_suite
from genbench.train.evaluation import evaluation_steps
from genbench.train.trial import run_trial

from .conftest import TINY_SUITE, run_dir_of


def test_same_trial_twice_gives_identical_numbers(write_suite):
    trial = load_suite(write_suite(TINY_SUITE)).trials[0]
    first = run_trial(trial, "tiny", torch.device("cpu"))
    second = run_trial(trial, "tiny", torch.device("cpu"))
    assert first.record.metrics == second.record.metrics
    assert [(p.step, p.metric, p.value) for p in first.curves] == [
        (p.step, p.metric, p.value) for p in second.curves
    ]
    assert (first.samples == second.samples).all()


def test_different_seeds_give_different_numbers(write_suite):
    suite = load_suite(write_suite(TINY_SUITE + "grid:\n  seed: [0, 1]\n"))
    outcomes = [run_trial(trial, "tiny", torch.device("cpu")) for trial in suite.trials]
    assert not (outcomes[0].samples == outcomes[1].samples).all()


def test_evaluation_schedule_includes_the_last_step():
    assert evaluation_steps(100, 30) == [30, 60, 90, 100]
    assert evaluation_steps(100, 50) == [50, 100]
    assert evaluation_steps(100, 0) == [100]
    assert evaluation_steps(0, 50) == [0]


def test_curves_hold_metrics_and_stability_signals_at_every_evaluation(write_suite):
    outcome = run_trial(load_suite(write_suite(TINY_SUITE)).trials[0], "tiny", torch.device("cpu"))
    curves = pd.DataFrame([point.model_dump() for point in outcome.curves])
    assert sorted(curves.step.unique()) == [20, 40]
    expected = {
        "generator_loss",
        "discriminator_loss",
        "generator_grad_norm",
        "discriminator_grad_norm",
        "d_input_grad_norm_real",
        "d_input_grad_norm_fake",
        "hq_fraction",
        "modes_covered",
        "mode_kl",
        "precision",
        "recall",
        "density",
        "coverage",
    }
    assert set(curves.metric) == expected
    assert [mode_set.step for mode_set in outcome.record.covered_modes] == [20, 40]
    assert outcome.record.protocols["modes_covered"]["eval_samples"] == 256
    assert outcome.record.protocols["precision"]["k_precision_recall"] == 3


def test_diverging_and_failing_trials_are_recorded_and_the_suite_goes_on(write_suite, tmp_path):
    text = TINY_SUITE + (
        "grid:\n"
        "  optimizer: [{name: adam, lr: 1.0e-3}, {name: sgd, lr: 1.0e+30}]\n"
        "  loss: [ns, 'tests.planted:broken_loss']\n"
    )
    run_dir = run_dir_of(write_suite(text), tmp_path / "run", device="cpu", quiet=True, workers=1)
    records = {(r.grid["optimizer"], r.grid["loss"]): r for r in RunStore(run_dir).records()}
    finished = records[("adam(lr=0.001)", "ns")]
    diverged = records[("sgd(lr=1e+30)", "ns")]
    failed = records[("adam(lr=0.001)", "tests.planted:broken_loss")]
    assert finished.status is TrialStatus.FINISHED and finished.metrics
    assert diverged.status is TrialStatus.DIVERGED
    assert 1 <= diverged.diverged_step <= 10
    assert failed.status is TrialStatus.FAILED
    assert "planted failure in the discriminator loss" in failed.error
    table = pd.read_csv(run_dir / "results.csv")
    assert sorted(table.status) == ["diverged", "failed", "failed", "finished"]


def test_second_run_skips_finished_trials_and_reruns_failed_ones(write_suite, tmp_path):
    text = TINY_SUITE + "grid:\n  loss: [ns, 'tests.planted:broken_loss']\n"
    suite_path = write_suite(text)
    run_dir = run_dir_of(suite_path, tmp_path / "run", device="cpu", quiet=True, workers=1)
    store = RunStore(run_dir)
    records = {r.grid["loss"]: r for r in store.records()}
    finished_file = store.trial_dir(records["ns"].id) / "record.json"
    failed_file = store.trial_dir(records["tests.planted:broken_loss"].id) / "record.json"
    # records are replaced atomically (a new file), so the inode tells whether one was rewritten
    finished_inode, failed_inode = finished_file.stat().st_ino, failed_file.stat().st_ino
    run_dir_of(suite_path, run_dir, device="cpu", quiet=True, workers=1)
    assert finished_file.stat().st_ino == finished_inode
    assert failed_file.stat().st_ino != failed_inode


def test_results_table_has_grid_labels_flattened_columns_status_and_metrics(write_suite, tmp_path):
    text = TINY_SUITE.replace("steps: 40", "steps: 20") + (
        "grid:\n  optimizer: [{name: adam, lr: 1.0e-3}, {name: rmsprop, lr: 1.0e-3}]\n  seed: [3]\n"
    )
    run_dir = run_dir_of(write_suite(text), tmp_path / "run", device="cpu", quiet=True, workers=1)
    table = pd.read_csv(run_dir / "results.csv")
    assert list(table.optimizer) == ["adam(lr=0.001)", "rmsprop(lr=0.001)"]
    assert list(table["optimizer.name"]) == ["adam", "rmsprop"]
    assert list(table["optimizer.lr"]) == [0.001, 0.001]
    assert list(table.seed) == [3, 3]
    for column in ("status", "modes_covered", "hq_fraction", "mode_kl", "precision", "recall", "density"):
        assert column in table.columns
    record = RunStore(run_dir).records()[0]
    assert {"torch", "python", "genbench", "device"} <= set(record.environment)
    assert record.timings["samples_per_second"] > 0


def test_process_pool_gives_the_same_results_as_inline(write_suite, tmp_path):
    suite_path = write_suite(TINY_SUITE.replace("steps: 40", "steps: 20") + "grid:\n  seed: [0, 1]\n")
    inline = run_dir_of(suite_path, tmp_path / "inline", device="cpu", quiet=True, workers=1)
    pooled = run_dir_of(suite_path, tmp_path / "pool", device="cpu", quiet=True, workers=2)
    metrics = lambda run: {r.id: r.metrics for r in RunStore(run).records()}  # noqa: E731
    assert metrics(inline) == metrics(pooled)


@pytest.mark.parametrize("loss", ["minimax", "wgan", "wgan-gp", "hinge", "lsgan"])
def test_every_loss_trains_without_error(write_suite, tmp_path, loss):
    text = TINY_SUITE.replace("loss: ns", f"loss: {loss}").replace("steps: 40", "steps: 10")
    outcome = run_trial(load_suite(write_suite(text)).trials[0], "tiny", torch.device("cpu"))
    assert outcome.record.status is TrialStatus.FINISHED


@pytest.mark.parametrize("penalty", ["{name: r1, params: {gamma: 1.0}}", "{name: gp, params: {weight: 1.0}}"])
def test_penalties_and_pacgan_packing_train(write_suite, penalty):
    text = TINY_SUITE.replace("depth: 2}", "depth: 2, pack: 4}") + f"penalty: {penalty}\n"
    outcome = run_trial(load_suite(write_suite(text)).trials[0], "tiny", torch.device("cpu"))
    assert outcome.record.status is TrialStatus.FINISHED


def test_user_dataset_and_model_factories_are_used_by_reference(write_suite):
    text = TINY_SUITE.replace(
        "dataset: {name: ring8}", "dataset: {name: 'tests.planted:shifted_ring', params: {shift: 5.0}}"
    )
    text = text.replace(
        "model: {name: mlp_gan, params: {latent_dim: 2, hidden: 16, depth: 2}}",
        "model: {name: 'tests.planted:tiny_gan', params: {width: 4}}",
    )
    outcome = run_trial(load_suite(write_suite(text)).trials[0], "tiny", torch.device("cpu"))
    assert outcome.record.status is TrialStatus.FINISHED, outcome.record.error
    assert outcome.mode_centres[:, 0].min() == pytest.approx(5.0 - 2.0)


def test_a_folder_reused_for_an_edited_suite_reports_only_the_current_trials(write_suite, tmp_path):
    first = write_suite(TINY_SUITE.replace("steps: 40", "steps: 20") + "grid:\n  seed: [0, 1]\n")
    run_dir = run_dir_of(first, tmp_path / "run", device="cpu", quiet=True, workers=1)
    edited = write_suite(TINY_SUITE.replace("steps: 40", "steps: 20") + "grid:\n  seed: [1, 2]\n", "b.yaml")
    run_dir_of(edited, run_dir, device="cpu", quiet=True, workers=1)
    assert sorted(pd.read_csv(run_dir / "results.csv").seed) == [1, 2]
    assert len(list((run_dir / "trials").iterdir())) == 3
