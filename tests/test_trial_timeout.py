"""``train.timeout``: a trial over its wall-time limit fails with a message naming the limit and
the step it reached; with ``train.checkpoint_every`` its state is saved first, so a rerun continues
from there and ends as a run that never timed out. An ensemble shares one clock."""

from __future__ import annotations

import pytest
import torch

from genbench.code_identity import code_identities
from genbench.records import TrialStatus
from genbench.runner.batch import TrialBatch, run_batch
from genbench.spec import Trial
from genbench.store import RunStore
from genbench.suite import load_suite
from genbench.train.training_state import TrainingStates
from genbench.train.trial import run_trials

from .conftest import TINY_SUITE, genbench_process

CPU = torch.device("cpu")
#: shorter than building the trial takes: the first check (step 10) is over it
TINY_TIMEOUT = 1e-6
TIMEOUT_ERROR = "TrialTimeout: exceeded train.timeout of 1e-06 s at step 10 of 40"


def timed_suite(options: str, seeds: str = "[0]") -> str:
    return (
        TINY_SUITE.replace("eval_samples: 256}", f"eval_samples: 256, {options}}}")
        + f"grid: {{seed: {seeds}}}\n"
    )


def batch_of(trials: tuple[Trial, ...], run_dir) -> TrialBatch:
    codes = tuple(code_identities(trial.spec.model_dump(mode="json") for trial in trials))
    return TrialBatch(trials, codes, "tiny", run_dir, "cpu")


def without_timeout(trial: Trial) -> Trial:
    return trial.model_copy(update={"run_options": trial.run_options.model_copy(update={"timeout": None})})


def test_a_trial_over_its_timeout_fails_naming_the_limit_and_the_step(write_suite, tmp_path):
    trials = load_suite(write_suite(timed_suite(f"timeout: {TINY_TIMEOUT}"))).trials
    assert run_batch(batch_of(trials, tmp_path)) == [TrialStatus.FAILED]
    record = RunStore(tmp_path).record(trials[0].id)
    assert record.error == TIMEOUT_ERROR
    assert not (RunStore(tmp_path).trial_dir(trials[0].id) / "training_state.pt").exists()


def test_an_ensemble_over_its_timeout_fails_as_a_whole(write_suite, tmp_path, capsys):
    trials = load_suite(write_suite(timed_suite(f"timeout: {TINY_TIMEOUT}", "[0, 1, 2]"))).trials
    assert run_batch(batch_of(trials, tmp_path)) == [TrialStatus.FAILED] * 3
    assert [RunStore(tmp_path).record(trial.id).error for trial in trials] == [TIMEOUT_ERROR] * 3
    assert "one at a time" not in capsys.readouterr().err


def test_a_timed_out_trial_saves_its_state_and_its_rerun_ends_as_an_uninterrupted_run(write_suite, tmp_path):
    trials = load_suite(
        write_suite(timed_suite(f"timeout: {TINY_TIMEOUT}, checkpoint_every: 15", "[0, 1]"))
    ).trials
    batch = batch_of(trials, tmp_path)
    run_batch(batch)
    files = TrainingStates(
        RunStore(tmp_path), dict(zip([trial.id for trial in trials], batch.codes, strict=True))
    )
    # saved at the check where the limit was found, not only at the checkpoint schedule's steps
    assert [files.load(trial.id).step for trial in trials] == [10, 10]
    rerun = tuple(without_timeout(trial) for trial in trials)
    assert run_batch(batch_of(rerun, tmp_path)) == [TrialStatus.FINISHED] * 2
    once = run_trials(rerun, "tiny", CPU)
    for trial, outcome in zip(trials, once, strict=True):
        record = RunStore(tmp_path).record(trial.id)
        assert record.resumed_at == [10] and record.error is None
        assert record.metrics == outcome.record.metrics
        curves = RunStore(tmp_path).curves(trial.id)
        assert curves["value"].tolist() == [point.value for point in outcome.curves]


@pytest.mark.slow
def test_the_command_line_reports_a_timed_out_trial_and_exits_3(write_suite, tmp_path):
    suite = write_suite(timed_suite(f"timeout: {TINY_TIMEOUT}"))
    result = genbench_process("run", suite, "--out", tmp_path / "run", "--device", "cpu", "--quiet")
    assert result.returncode == 3, result.stderr
    assert TIMEOUT_ERROR in result.stderr
