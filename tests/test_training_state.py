"""Preemption-safe trials (``train.checkpoint_every``): a trial stopped after a saved training state
and run again continues from it, and its result equals the uninterrupted run's exactly on the CPU
(metrics, curves, covered modes), whatever stopped it (an exception here, SIGKILL of the whole
command line in the end-to-end test) and however its ensembles are formed on the rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from genbench.code_identity import CodeIdentity, code_identities
from genbench.errors import SuiteError
from genbench.runner.batch import TrialBatch, run_batch
from genbench.spec import RunOptions, Trial
from genbench.store import DAMAGED_DIR, TRAINING_STATE_FILE, RunStore
from genbench.suite import load_suite
from genbench.train.training_state import SavedTraining, TrainingStates
from genbench.train.trial import TrialOutcome, run_trials

from .conftest import GENBENCH, TINY_SUITE
from .test_remedies_suite import ID_BEFORE_REMEDIES

CPU = torch.device("cpu")

GAN_SUITE = """
name: resumed
dataset: {{name: ring8}}
model: {{name: mlp_gan, params: {{latent_dim: 2, hidden: 16, depth: 2}}}}
loss: {loss}
optimizer: {{name: adam, lr: 1.0e-3}}
train:
  {{steps: 30, batch_size: 32, d_steps: {d_steps}, eval_every: 15, eval_samples: 256, checkpoint_every: 10}}
metrics: [modes, prdc]
remedies: {remedies}
grid: {{seed: {seeds}}}
"""

IMAGE_SUITE = """
name: resumed
dataset: {name: digits, params: {size: 16}}
model: {name: dcgan, params: {latent_dim: 4, base_channels: 4}}
loss: ns
optimizer: {name: adam, lr: 1.0e-3}
train: {steps: 20, batch_size: 8, eval_every: 10, eval_samples: 64, checkpoint_every: 5}
metrics: [prdc]
remedies: [{name: diffaugment, params: {policy: [color, translation, cutout]}}]
grid: {seed: [0, 1]}
"""

VAE_SUITE = """
name: resumed
dataset: {name: ring8}
model: {name: vae_mlp, params: {latent_dim: 2, hidden: 16, depth: 1, likelihood: gaussian}}
loss: {name: elbo, params: {warmup_steps: 25}}
optimizer: {name: adam, lr: 3.0e-3}
train: {steps: 30, batch_size: 32, eval_every: 15, eval_samples: 128, checkpoint_every: 10}
metrics: [prdc]
grid: {seed: [0, 1]}
"""


class Killed(BaseException):
    """Stands for a kill: nothing in genbench catches it."""


class KilledAfterSaving(TrainingStates):
    """The state files of ``files``' trials; raises ``Killed`` once every trial's state at
    ``step`` is saved."""

    def __init__(self, files: TrainingStates, step: int) -> None:
        super().__init__(files.store, files.codes)
        self.step = step
        self.waiting = set(files.codes)

    def save(self, trial_id: str, state: SavedTraining) -> None:
        super().save(trial_id, state)
        if state.step == self.step:
            self.waiting.discard(trial_id)
            if not self.waiting:
                raise Killed


def suite_trials(write_suite, text: str) -> tuple[Trial, ...]:
    return load_suite(write_suite(text)).trials


def state_files(trials, run_dir: Path) -> TrainingStates:
    codes = code_identities(trial.spec.model_dump(mode="json") for trial in trials)
    return TrainingStates(
        RunStore(run_dir), {trial.id: code for trial, code in zip(trials, codes, strict=True)}
    )


def killed_at(trials, files: TrainingStates, step: int) -> None:
    """Run ``trials`` from their saved states (if any) until every state at ``step`` is saved."""
    with pytest.raises(Killed):
        saved = [files.load(trial.id) for trial in trials]
        run_trials(trials, "resumed", CPU, saved=saved, state_files=KilledAfterSaving(files, step))


def finished(trials, files: TrainingStates) -> list[TrialOutcome]:
    return run_trials(trials, "resumed", CPU, saved=[files.load(t.id) for t in trials], state_files=files)


def assert_same_results(resumed: list[TrialOutcome], uninterrupted: list[TrialOutcome]) -> None:
    for again, once in zip(resumed, uninterrupted, strict=True):
        assert again.record.status == once.record.status
        assert again.record.metrics == once.record.metrics
        assert again.curves == once.curves
        assert again.record.covered_modes == once.record.covered_modes
        assert (again.samples == once.samples).all()


def resumed_equals_uninterrupted(trials, tmp_path: Path, stops: tuple[int, ...]) -> list[TrialOutcome]:
    """Stop the trials after the states at each of ``stops``, finish them, compare with one run."""
    once = run_trials(trials, "resumed", CPU, state_files=state_files(trials, tmp_path / "once"))
    files = state_files(trials, tmp_path / "stopped")
    for step in stops:
        killed_at(trials, files, step)
    resumed = finished(trials, files)
    assert_same_results(resumed, once)
    return resumed


def test_a_gan_with_a_gradient_penalty_and_two_d_steps_resumes_to_the_uninterrupted_result(
    write_suite, tmp_path
):
    text = GAN_SUITE.format(loss="wgan-gp", d_steps=2, remedies="[]", seeds="[0, 1]")
    resumed = resumed_equals_uninterrupted(suite_trials(write_suite, text), tmp_path, (10, 20))
    assert [outcome.record.resumed_at for outcome in resumed] == [[10, 20], [10, 20]]


@pytest.mark.parametrize(
    "remedies",
    [
        "[{name: ema, params: {decay: 0.9, start_step: 5}}]",
        "[{name: instance_noise, params: {std: 0.5, anneal_steps: 25}}]",
        "[spectral_norm]",
        "[{name: unrolled, params: {steps: 2}}]",
    ],
)
def test_a_remedy_with_state_resumes_to_the_uninterrupted_result(write_suite, tmp_path, remedies):
    text = GAN_SUITE.format(loss="ns", d_steps=1, remedies=remedies, seeds="[0, 1]")
    resumed_equals_uninterrupted(suite_trials(write_suite, text), tmp_path, (10,))


def test_diffaugment_on_images_resumes_to_the_uninterrupted_result(write_suite, tmp_path):
    resumed_equals_uninterrupted(suite_trials(write_suite, IMAGE_SUITE), tmp_path, (5, 15))


def test_a_vae_resumes_to_the_uninterrupted_result_with_its_kl_warm_up(write_suite, tmp_path):
    resumed_equals_uninterrupted(suite_trials(write_suite, VAE_SUITE), tmp_path, (10, 20))


def test_no_state_is_saved_at_the_last_step_and_none_is_left_once_recorded(write_suite, tmp_path):
    text = GAN_SUITE.format(loss="ns", d_steps=1, remedies="[]", seeds="[0, 1]")
    trials = suite_trials(write_suite, text)
    files = state_files(trials, tmp_path)
    steps = []

    class Recording(TrainingStates):
        def save(self, trial_id: str, state: SavedTraining) -> None:
            steps.append(state.step)
            super().save(trial_id, state)

    run_trials(trials, "resumed", CPU, state_files=Recording(files.store, files.codes))
    assert sorted(set(steps)) == [10, 20]
    batch = TrialBatch(trials, tuple(files.codes.values()), "resumed", tmp_path, "cpu")
    run_batch(batch)
    assert not any(files.path(trial.id).exists() for trial in trials)
    assert all(RunStore(tmp_path).record(trial.id).resumed_at == [20] for trial in trials)


def test_members_saved_at_different_steps_resume_as_sub_ensembles(write_suite, tmp_path):
    """Seed 0 and 1 stopped as an ensemble at step 10; seed 1 then alone at 20; seed 2 never
    saved: the batch of all three trains three sub-ensembles, each from its own step, and every
    trial ends as the uninterrupted ensemble does (to float tolerance: one member alone sums in
    another order than stacked)."""
    text = GAN_SUITE.format(loss="ns", d_steps=1, remedies="[ema, instance_noise]", seeds="[0, 1, 2]")
    trials = suite_trials(write_suite, text)
    once = run_trials(trials, "resumed", CPU)
    files = state_files(trials, tmp_path)
    killed_at(trials[:2], state_files(trials[:2], tmp_path), 10)
    killed_at(trials[1:2], state_files(trials[1:2], tmp_path), 20)
    batch = TrialBatch(trials, tuple(files.codes.values()), "resumed", tmp_path, "cpu")
    run_batch(batch)
    records = [RunStore(tmp_path).record(trial.id) for trial in trials]
    assert [record.resumed_at for record in records] == [[10], [10, 20], []]
    for record, outcome in zip(records, once, strict=True):
        assert record.metrics == pytest.approx(outcome.record.metrics, rel=1e-4, abs=1e-6)
        curves = RunStore(tmp_path).curves(record.id)
        assert curves["value"].tolist() == pytest.approx(
            [p.value for p in outcome.curves], rel=1e-4, abs=1e-6
        )


def test_a_state_saved_by_other_code_is_not_used(write_suite, tmp_path, capsys):
    text = GAN_SUITE.format(loss="ns", d_steps=1, remedies="[]", seeds="[0]")
    trials = suite_trials(write_suite, text)
    files = state_files(trials, tmp_path)
    killed_at(trials, files, 10)
    (trial,) = trials
    assert files.load(trial.id).step == 10
    other = CodeIdentity(genbench_version="0.0.0", genbench_source="0" * 16)
    assert TrainingStates(files.store, {trial.id: other}).load(trial.id) is None
    err = capsys.readouterr().err
    assert f"{files.path(trial.id)} was saved by other code (genbench" in err
    assert "not used; the trial starts afresh" in err


def test_a_state_of_another_trial_is_not_used(write_suite, tmp_path, capsys):
    text = GAN_SUITE.format(loss="ns", d_steps=1, remedies="[]", seeds="[0, 1]")
    trials = suite_trials(write_suite, text)
    files = state_files(trials, tmp_path)
    killed_at(trials, files, 10)
    files.path(trials[0].id).replace(files.path(trials[1].id))
    assert files.load(trials[1].id) is None
    assert f"holds the training state of trial {trials[0].id}: not used" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["cut", "garbage", "other_payload"])
def test_a_damaged_state_is_set_aside_and_the_trial_starts_afresh(write_suite, tmp_path, capsys, damage):
    text = GAN_SUITE.format(loss="ns", d_steps=1, remedies="[]", seeds="[0]")
    trials = suite_trials(write_suite, text)
    files = state_files(trials, tmp_path)
    killed_at(trials, files, 10)
    path = files.path(trials[0].id)
    content = path.read_bytes()
    if damage == "cut":
        path.write_bytes(content[: len(content) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00not a state" * 50)
    else:
        torch.save({"format": "genbench training state", "version": 1, "step": "ten"}, path)
    assert files.load(trials[0].id) is None
    assert f"{path} is damaged (" in capsys.readouterr().err
    assert not path.parent.exists()
    (aside,) = (tmp_path / DAMAGED_DIR).iterdir()
    assert aside.name.startswith(trials[0].id) and (aside / TRAINING_STATE_FILE).is_file()
    # the rerun starts afresh and equals a run that was never stopped
    (outcome,) = finished(trials, files)
    (once,) = run_trials(trials, "resumed", CPU)
    assert outcome.record.resumed_at == []
    assert_same_results([outcome], [once])


def test_run_options_change_no_trial_id(write_suite):
    """The stored results and baselines keep their ids: the options are not part of the spec."""
    text = TINY_SUITE.replace("eval_samples: 256}", "eval_samples: 256, checkpoint_every: 7, timeout: 3600}")
    (trial,) = load_suite(write_suite(text)).trials
    assert trial.id == ID_BEFORE_REMEDIES
    assert trial.run_options == RunOptions(checkpoint_every=7, timeout=3600)
    assert "checkpoint_every" not in trial.spec.model_dump(mode="json")["train"]
    (plain,) = load_suite(write_suite(TINY_SUITE, "plain.yaml")).trials
    assert plain.id == ID_BEFORE_REMEDIES and plain.run_options == RunOptions()


@pytest.mark.parametrize(
    ("train", "extra", "line", "key", "message"),
    [
        ("checkpoint_every: 0", "", 6, "train.checkpoint_every", "greater than or equal to 1"),
        ("timeout: -5", "", 6, "train.timeout", "greater than 0"),
        ("timeout: ten", "", 6, "train.timeout", "valid number"),
        ("", "grid: {train.checkpoint_every: [10, 20]}\n", 8, "grid.train.checkpoint_every", "not a grid"),
        (
            "",
            "grid: {train: [{steps: 40, timeout: 5}, {steps: 20}]}\n",
            8,
            "grid.train[0].timeout",
            "execution setting of the whole suite",
        ),
    ],
)
def test_run_options_are_validated_with_file_line_and_key(write_suite, train, extra, line, key, message):
    text = TINY_SUITE.strip() + "\n" + extra
    if train:
        text = text.replace("eval_samples: 256}", f"eval_samples: 256, {train}}}")
    with pytest.raises(SuiteError) as raised:
        load_suite(write_suite(text))
    assert raised.value.line == line
    assert raised.value.key == key
    assert message in str(raised.value)


KILLED_SUITE = """
name: killed
dataset: {name: ring8}
model: {name: mlp_gan, params: {latent_dim: 2, hidden: 16, depth: 2}}
loss: ns
optimizer: {name: adam, lr: 1.0e-3}
train: {steps: 600, batch_size: 32, eval_every: 200, eval_samples: 256, checkpoint_every: 25}
metrics: [modes, prdc]
remedies: [{name: ema, params: {decay: 0.99, start_step: 100}}, instance_noise]
grid: {seed: [0, 1]}
"""

#: one worker, so the two seeds train as one ensemble
RUN_OPTIONS = ("--device", "cpu", "--workers", "1", "--quiet")


def saved_step(path: Path) -> int:
    """The step of the state at ``path``; 0 while there is none (renamed into place: never half)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)["step"]
    except FileNotFoundError:
        return 0


def killed_three_times(suite: Path, run_dir: Path, state: Path) -> list[int]:
    """Start `genbench run` and SIGKILL its process group once the state has moved past the step
    of the previous kill, three times; the steps its state was at when killed."""
    steps = [0]
    for _ in range(3):
        process = subprocess.Popen(
            [GENBENCH, "run", suite, *RUN_OPTIONS, "--out", run_dir],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while saved_step(state) <= steps[-1]:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the state never moved on"
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()
        steps.append(saved_step(state))
    return steps[1:]


@pytest.mark.slow
def test_a_run_killed_three_times_mid_trial_ends_as_an_uninterrupted_run(write_suite, tmp_path):
    """The done-when test of preemption-safe trials: `genbench run` killed with SIGKILL (the whole
    process group: the command and its worker) in the middle of an ensemble of two trials, three
    times, then run to the end, writes the results of a run never killed."""
    suite = write_suite(KILLED_SUITE)
    killed, once = tmp_path / "killed", tmp_path / "once"
    (first_trial,) = load_suite(suite).trials[:1]
    state = killed / "trials" / first_trial.id / TRAINING_STATE_FILE
    steps = killed_three_times(suite, killed, state)
    assert steps == sorted(set(steps)) and steps[-1] < 600
    for run_dir in (killed, once):
        result = subprocess.run(
            [GENBENCH, "run", suite, *RUN_OPTIONS, "--out", run_dir],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
    resumed_results = pd.read_csv(killed / "results.csv")
    once_results = pd.read_csv(once / "results.csv")
    metrics = list(RunStore(once).record(once_results["trial"][0]).metrics)
    assert "modes_covered" in metrics and "precision" in metrics
    pd.testing.assert_frame_equal(resumed_results[["trial", *metrics]], once_results[["trial", *metrics]])
    for trial_id in once_results["trial"]:
        pd.testing.assert_frame_equal(RunStore(killed).curves(trial_id), RunStore(once).curves(trial_id))
        assert not (killed / "trials" / trial_id / TRAINING_STATE_FILE).exists()
    # the first trial resumed in every run (a kill between the two members' saves leaves the second
    # a checkpoint behind: the rerun then trains them as two sub-ensembles, the first one first)
    assert RunStore(killed).record(first_trial.id).resumed_at == steps


def test_the_saved_state_is_plain_data_that_loads_without_pickled_objects(write_suite, tmp_path):
    text = textwrap.dedent(
        GAN_SUITE.format(loss="ns", d_steps=1, remedies="[ema, instance_noise]", seeds="[0]")
    )
    trials = suite_trials(write_suite, text)
    files = state_files(trials, tmp_path)
    killed_at(trials, files, 10)
    payload = torch.load(files.path(trials[0].id), weights_only=True)
    assert payload["trial_id"] == trials[0].id and payload["step"] == 10
    assert set(payload["networks"]) == {"generator", "discriminator"}
    assert len(payload["training"]["remedies"]) == 2
    assert payload["training"]["remedies"][1]["updates"] == 10


def test_the_run_says_how_many_trials_continue_from_saved_states(write_suite, tmp_path):
    """The header of a rerun and the message of a stopped run count the trials with a saved state."""
    from genbench.runner import saved_phrase, trials_with_saved_state

    trials = load_suite(write_suite(TINY_SUITE + "grid: {seed: [0, 1, 2]}\n")).trials
    assert trials_with_saved_state(tmp_path, trials) == 0 and saved_phrase(tmp_path, trials) == ""
    for trial in trials[:2]:
        (tmp_path / "trials" / trial.id).mkdir(parents=True)
        (tmp_path / "trials" / trial.id / TRAINING_STATE_FILE).write_bytes(b"state")
    assert trials_with_saved_state(tmp_path, trials) == 2
    assert saved_phrase(tmp_path, trials) == " (2 from saved training states)"
