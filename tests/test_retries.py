"""`genbench run --retries N`: a trial that failed (its code raised, its worker died) runs again,
alone, up to N more times in the same run; progress and the summary count it once; its record says
how many attempts it took.

The failing trials build a user dataset that fails on its first attempt only: a marker file says
the attempt was made.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from genbench.records import TrialStatus
from genbench.runner import run_suite
from genbench.runner.retries import Attempts
from genbench.store import RunStore
from genbench.suite import load_suite

from .conftest import genbench_process

FLAKY = '''
import os
from pathlib import Path

from genbench.data.mixtures import RingMixture
from genbench.data.params import RingParams


def ring(**params):
    return RingMixture(**RingParams(**params).model_dump())


def first_attempt(name):
    """Whether this is the first attempt of ``name``; the next one will not be."""
    marker = Path(os.environ["GENBENCH_TEST_MARKERS"], name)
    first = not marker.exists()
    marker.touch()
    return first


def raises_once(**params):
    if first_attempt("raises_once"):
        raise RuntimeError("the file system hiccuped")
    return ring(**params)


def dies_once(**params):
    if first_attempt("dies_once"):
        os._exit(1)
    return ring(**params)


def always_raises(**params):
    raise RuntimeError("this dataset never loads")
'''

SUITE = """
name: retries
dataset: {name: "flaky:ring"}
model: {name: mlp_gan, params: {latent_dim: 2, hidden: 16, depth: 2}}
loss: ns
optimizer: {name: adam, lr: 1.0e-3}
train: {steps: 10, batch_size: 32, eval_every: 0, eval_samples: 256}
metrics: [modes]
"""


@pytest.fixture
def flaky(tmp_path, monkeypatch):
    """A folder with the flaky datasets importable (here and in spawned workers); returns a
    function that writes a suite over the named datasets and returns its path."""
    (tmp_path / "flaky.py").write_text(FLAKY)
    (tmp_path / "markers").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("GENBENCH_TEST_MARKERS", str(tmp_path / "markers"))

    def suite(*datasets: str) -> Path:
        path = tmp_path / "suite.yaml"
        grid = ", ".join(f'"flaky:{name}"' for name in datasets)
        path.write_text(textwrap.dedent(SUITE).lstrip() + f"grid: {{dataset: [{grid}]}}\n")
        return path

    return suite


def run_in_process(suite: Path, run_dir: Path, retries: int):
    return run_suite(
        load_suite(suite), run_dir, device="cpu", quiet=True, in_process=True, ensemble="off", retries=retries
    )


def records_by_dataset(run_dir: Path) -> dict[str, object]:
    return {record.spec["dataset"]["name"]: record for record in RunStore(run_dir).records()}


def test_a_trial_that_fails_once_finishes_on_its_second_attempt_with_retries_1(flaky, tmp_path):
    outcome = run_in_process(flaky("raises_once", "ring"), tmp_path / "run", retries=1)
    records = records_by_dataset(tmp_path / "run")
    assert (records["flaky:raises_once"].status, records["flaky:raises_once"].attempts) == (
        TrialStatus.FINISHED,
        2,
    )
    assert (records["flaky:ring"].status, records["flaky:ring"].attempts) == (TrialStatus.FINISHED, 1)
    # counted once each
    assert outcome.statuses == {TrialStatus.FINISHED: 2}
    # a retry is an execution detail: training is seeded, so the numbers are the first attempt's would-be
    assert records["flaky:raises_once"].metrics == records["flaky:ring"].metrics


def test_without_retries_the_trial_stays_failed_after_one_attempt(flaky, tmp_path):
    outcome = run_in_process(flaky("raises_once"), tmp_path / "run", retries=0)
    record = records_by_dataset(tmp_path / "run")["flaky:raises_once"]
    assert (record.status, record.attempts) == (TrialStatus.FAILED, 1)
    assert "RuntimeError: the file system hiccuped" in record.error
    assert outcome.failed == 1


def test_a_trial_that_always_fails_is_tried_1_plus_n_times_and_recorded_failed_once(flaky, tmp_path):
    outcome = run_in_process(flaky("always_raises"), tmp_path / "run", retries=2)
    record = records_by_dataset(tmp_path / "run")["flaky:always_raises"]
    assert (record.status, record.attempts) == (TrialStatus.FAILED, 3)
    assert outcome.statuses == {TrialStatus.FAILED: 1}


class RecordingProgress:
    def __init__(self) -> None:
        self.done: list[tuple[str, TrialStatus]] = []
        self.retried: list[tuple[str, int, int]] = []

    def trial_done(self, trial_id: str, status: TrialStatus) -> None:
        self.done.append((trial_id, status))

    def trial_retried(self, trial_id: str, attempt: int, attempts: int) -> None:
        self.retried.append((trial_id, attempt, attempts))


def test_progress_counts_a_retried_trial_done_once_at_its_last_attempt():
    progress = RecordingProgress()
    attempts = Attempts(2, progress)
    attempts.trial_done("a", TrialStatus.FAILED)
    attempts.trial_done("b", TrialStatus.FINISHED)
    assert attempts.take_failed() == ["a"]
    attempts.trial_done("a", TrialStatus.FAILED)
    assert attempts.take_failed() == ["a"]
    attempts.trial_done("a", TrialStatus.FAILED)
    assert attempts.take_failed() == []
    assert progress.retried == [("a", 2, 3), ("a", 3, 3)]
    assert progress.done == [("b", TrialStatus.FINISHED), ("a", TrialStatus.FAILED)]


def test_retries_must_not_be_negative(flaky, tmp_path):
    from genbench.errors import GenbenchError

    with pytest.raises(GenbenchError, match="--retries must be 0 or more, got -1"):
        run_in_process(flaky("ring"), tmp_path / "run", retries=-1)


@pytest.mark.slow
def test_the_command_line_retries_a_raising_trial_and_one_whose_worker_died(flaky, tmp_path):
    """Through `genbench run` and its worker processes: one trial raises, the next kills its worker
    (``os._exit``); with --retries 1 both finish on their second attempt, each run alone."""
    suite = flaky("raises_once", "dies_once")
    arguments = [
        "run",
        suite,
        "--out",
        tmp_path / "run",
        "--device",
        "cpu",
        "--workers",
        "1",
        "--ensemble",
        "off",
    ]
    result = genbench_process(*arguments, "--retries", "1", pythonpath=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "retries: 2 trials: 2 finished, 0 diverged, 0 failed" in result.stderr
    assert result.stderr.count("running it again (attempt 2 of 2)") == 2
    records = records_by_dataset(tmp_path / "run")
    assert {name: (r.status, r.attempts) for name, r in records.items()} == {
        "flaky:raises_once": (TrialStatus.FINISHED, 2),
        "flaky:dies_once": (TrialStatus.FINISHED, 2),
    }


def test_the_command_line_without_retries_leaves_the_trial_failed(flaky, tmp_path):
    suite = flaky("raises_once")
    result = genbench_process(
        "run", suite, "--out", tmp_path / "run", "--device", "cpu", "--workers", "1", pythonpath=tmp_path
    )
    assert result.returncode == 3, result.stderr
    assert "1 failed" in result.stderr and "attempt 2" not in result.stderr
    assert records_by_dataset(tmp_path / "run")["flaky:raises_once"].attempts == 1
