"""The runner forms ensembles (issue 10): trials that differ only in their seed train together,
as large as memory allows and spread over the workers, while ids, records and resume stay per
trial. Forming is tested on loaded suites; a batch's fallback with a stand-in for training; runs
and option errors through the installed command line; resume and a killed worker on the runner."""

from __future__ import annotations

import io
import shutil
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from rich.console import Console

from genbench.code_identity import code_identities
from genbench.errors import GenbenchError
from genbench.records import TrialRecord, TrialStatus
from genbench.runner import ensembles, run_suite
from genbench.runner.batch import TrialBatch, run_batch
from genbench.runner.ensembles import (
    ensemble_key,
    ensemble_setting,
    estimated_work,
    form_ensembles,
    longest_first,
    member_bytes,
)
from genbench.runner.executors.pool import ProcessPoolRunner
from genbench.spec import ComponentSpec, Trial
from genbench.store import RunStore
from genbench.suite import load_suite

from .conftest import TINY_SUITE, genbench_process

SMALL_TRAIN = "train: {steps: 10, batch_size: 32, eval_every: 0, eval_samples: 128}"
SMALL_SUITE = TINY_SUITE.replace(
    "train: {steps: 40, batch_size: 32, eval_every: 20, eval_samples: 256}", SMALL_TRAIN
).replace("metrics: [modes, prdc]", "metrics: [modes]")


@pytest.fixture
def trials_of(write_suite):
    """The trials of the small suite with ``grid`` (YAML) appended."""

    def load(grid: str) -> tuple[Trial, ...]:
        return load_suite(write_suite(SMALL_SUITE + textwrap.dedent(grid))).trials

    return load


def seeds(ensembles_formed: list[list[Trial]]) -> list[list[int]]:
    return [[trial.spec.seed for trial in ensemble] for ensemble in ensembles_formed]


# -- which trials may train together ------------------------------------------------------------


def test_trials_differing_only_in_their_seed_share_a_key(trials_of):
    keys = {ensemble_key(trial.spec) for trial in trials_of("grid: {seed: [0, 1, 2]}")}
    assert len(keys) == 1 and None not in keys


def test_trials_on_datasets_of_one_sample_shape_share_a_key_and_others_do_not(trials_of):
    ring, grid, digits = trials_of("grid: {dataset: [ring8, grid25, digits]}")
    assert ensemble_key(ring.spec) == ensemble_key(grid.spec) != ensemble_key(digits.spec)


def test_trials_differing_in_another_setting_do_not(trials_of):
    ns, hinge = trials_of("grid: {loss: [ns, hinge]}")
    assert ensemble_key(ns.spec) != ensemble_key(hinge.spec)


@pytest.mark.parametrize(
    "change",
    [
        {"model": ComponentSpec(name="my_models:gan")},
        {"loss": ComponentSpec(name="my_losses:loss")},
        {"penalty": ComponentSpec(name="my_losses:penalty")},
    ],
    ids=["user model", "user loss", "user penalty"],
)
def test_user_code_never_stacks(trials_of, change):
    (trial,) = trials_of("")
    assert ensemble_key(trial.spec.model_copy(update=change)) is None


def test_conv_models_stack_except_with_spectral_norm_which_vmap_cannot_batch(trials_of):
    (trial,) = trials_of("")

    def key(**params: object) -> str | None:
        return ensemble_key(
            trial.spec.model_copy(update={"model": ComponentSpec(name="dcgan", params=params)})
        )

    assert key(discriminator_norm="batch") is not None
    assert key(discriminator_norm="none") is not None
    assert key(discriminator_norm="spectral") is None


def test_a_trial_that_does_not_train_is_in_no_ensemble(trials_of):
    (trial,) = trials_of("")
    evaluated_only = trial.spec.model_copy(update={"train": trial.spec.train.model_copy(update={"steps": 0})})
    assert ensemble_key(evaluated_only) is None


# -- the --ensemble setting -----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "setting"), [("auto", "auto"), ("off", "off"), ("3", 3), (1, 1)])
def test_ensemble_settings_are_read(value, setting):
    assert ensemble_setting(value) == setting


@pytest.mark.parametrize("value", ["0", "-2", "foo", "2.5", "", 0])
def test_an_ensemble_setting_other_than_auto_off_or_a_count_is_refused(value):
    with pytest.raises(GenbenchError, match="--ensemble must be auto, off or a number of members"):
        ensemble_setting(value)


# -- forming ensembles -----------------------------------------------------------------------------


def test_off_runs_every_trial_alone(trials_of):
    assert seeds(form_ensembles(trials_of("grid: {seed: [0, 1, 2]}"), "off", workers=1)) == [[0], [1], [2]]


def test_a_member_count_caps_each_ensemble_with_sizes_as_equal_as_can_be(trials_of):
    trials = trials_of("grid: {seed: [0, 1, 2, 3, 4]}")
    assert seeds(form_ensembles(trials, 2, workers=1)) == [[0, 1], [2, 3], [4]]
    assert seeds(form_ensembles(trials, 4, workers=1)) == [[0, 1, 2], [3, 4]]


def test_auto_trains_a_seed_group_as_one_ensemble_on_one_worker(trials_of):
    trials = trials_of("grid: {seed: [0, 1, 2, 3, 4, 5]}")
    assert seeds(form_ensembles(trials, "auto", workers=1)) == [[0, 1, 2, 3, 4, 5]]


@pytest.mark.parametrize(
    ("workers", "expected"),
    [(2, [[0, 1, 2, 3], [4, 5, 6, 7]]), (3, [[0, 1, 2], [3, 4, 5], [6, 7]]), (20, [[s] for s in range(8)])],
)
def test_auto_splits_a_group_so_that_every_worker_has_work(trials_of, workers, expected):
    trials = trials_of("grid: {seed: [0, 1, 2, 3, 4, 5, 6, 7]}")
    assert seeds(form_ensembles(trials, "auto", workers=workers)) == expected


def test_auto_splits_the_group_with_the_largest_ensembles_first(trials_of):
    trials = trials_of("grid: {loss: [ns, hinge], seed: [0, 1, 2, 3, 4, 5]}")
    trials = trials[:6] + trials[6:8]  # ns with 6 seeds, hinge with 2
    formed = form_ensembles(trials, "auto", workers=3)
    assert [(ensemble[0].spec.loss.name, len(ensemble)) for ensemble in formed] == [
        ("ns", 3),
        ("ns", 3),
        ("hinge", 2),
    ]


def test_auto_forms_at_most_max_auto_members(trials_of, monkeypatch):
    monkeypatch.setattr(ensembles, "MAX_AUTO_MEMBERS", 4)
    trials = trials_of("grid: {seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}")
    assert seeds(form_ensembles(trials, "auto", workers=1)) == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]


@pytest.mark.parametrize(("workers", "members"), [(1, 3), (3, 1)])
def test_auto_keeps_the_ensembles_running_at_once_within_a_share_of_memory(
    trials_of, monkeypatch, workers, members
):
    trials = trials_of("grid: {seed: [0, 1, 2, 3, 4, 5]}")
    # room for 3.5 members in the share of memory that ensembles may claim
    memory = int(3.5 * member_bytes(trials[0].spec) / ensembles.MEMORY_SHARE)
    monkeypatch.setattr(ensembles, "physical_memory_bytes", lambda: memory)
    formed = form_ensembles(trials, "auto", workers=workers)
    assert max(len(ensemble) for ensemble in formed) == members
    assert sum(len(ensemble) for ensemble in formed) == 6


def test_a_member_needs_more_memory_with_more_evaluation_samples(trials_of):
    (small,) = trials_of("")
    train = small.spec.train.model_copy(update={"eval_samples": 100 * small.spec.train.eval_samples})
    assert member_bytes(small.spec.model_copy(update={"train": train})) > 10 * member_bytes(small.spec)


def test_ensembles_keep_suite_order_around_trials_that_run_alone(trials_of):
    # seed outermost: the trials of one loss are spread over the suite
    trials = trials_of("grid: {seed: [0, 1], loss: [ns, hinge]}")
    alone = trials[1].model_copy(
        update={"spec": trials[1].spec.model_copy(update={"model": ComponentSpec(name="my_models:gan")})}
    )
    trials = (trials[0], alone, trials[2], trials[3])  # ns-0, user-0, ns-1, hinge-1
    formed = form_ensembles(trials, "auto", workers=1)
    assert [[trial.id for trial in ensemble] for ensemble in formed] == [
        [trials[0].id, trials[2].id],
        [alone.id],
        [trials[3].id],
    ]


# -- a batch is one ensemble -------------------------------------------------------------------------


def batches_of(ensembles_formed: list[list[Trial]], run_dir: Path) -> list[TrialBatch]:
    """A batch per ensemble, each trial with the identity of the code that runs it."""
    return [
        TrialBatch(
            tuple(members),
            tuple(code_identities(trial.spec.model_dump(mode="json") for trial in members)),
            "tiny",
            run_dir,
            "cpu",
        )
        for members in ensembles_formed
    ]


def finished_outcome(trial: Trial, suite_name: str):
    from genbench.train.trial import TrialOutcome

    record = TrialRecord(
        id=trial.id,
        suite=suite_name,
        status=TrialStatus.FINISHED,
        spec=trial.spec.model_dump(mode="json"),
        grid=trial.grid,
        grid_columns=trial.grid_columns,
        started_at="now",
        finished_at="now",
    )
    return TrialOutcome(record=record)


def test_an_ensemble_that_fails_runs_its_trials_alone_so_only_the_broken_one_fails(
    trials_of, tmp_path, monkeypatch, capsys
):
    """Seed 1 breaks whatever it trains in: its ensemble fails, then it fails alone and the
    others finish; each trial reports its start and its end, and its record its code."""
    trials = trials_of("grid: {seed: [0, 1, 2]}")

    def run_trials(members, suite_name, device, progress, **resume):
        if any(trial.spec.seed == 1 for trial in members):
            raise RuntimeError("seed 1 is broken")
        return [finished_outcome(trial, suite_name) for trial in members]

    monkeypatch.setattr("genbench.train.trial.run_trials", run_trials)
    (batch,) = batches_of([list(trials)], tmp_path)
    started, done = [], []
    statuses = run_batch(
        batch,
        lambda trial_id, steps, total: started.append((trial_id, steps)),
        lambda trial_id, status: done.append((trial_id, status)),
    )
    assert statuses == [TrialStatus.FINISHED, TrialStatus.FAILED, TrialStatus.FINISHED]
    assert "an ensemble of 3 trials failed (RuntimeError: seed 1 is broken" in capsys.readouterr().err
    assert {trial_id for trial_id, steps in started if steps == 0} == {trial.id for trial in trials}
    assert done == [(trial.id, status) for trial, status in zip(trials, statuses, strict=True)]
    records = {trial.id: RunStore(tmp_path).record(trial.id) for trial in trials}
    assert "RuntimeError: seed 1 is broken" in records[trials[1].id].error
    assert [records[trial.id].code for trial in trials] == list(batch.codes)


# -- through the command line ------------------------------------------------------------------------

FOUR_SEEDS = SMALL_SUITE + "grid: {seed: [0, 1, 2, 3]}\n"


def run_command(suite: Path, out: Path, *options: str):
    return genbench_process(
        "run", suite, "--out", out, "--device", "cpu", "--workers", "1", *options, cwd=suite.parent
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """The suite with four seeds, run in ensembles of two and with every trial alone (side by side:
    each run is one worker, and CI has two cores)."""
    root = tmp_path_factory.mktemp("ensembles")
    suite = root / "suite.yaml"
    suite.write_text(FOUR_SEEDS)
    settings = ("2", "off")
    folders = {setting: root / f"ensemble-{setting}" for setting in settings}
    with ThreadPoolExecutor(len(settings)) as pool:
        results = pool.map(
            lambda setting: run_command(suite, folders[setting], "--ensemble", setting, "-q"), settings
        )
        for result in results:
            assert result.returncode == 0, result.stderr
    return {"suite": suite, **folders}


def records_by_seed(run_dir: Path) -> dict[int, TrialRecord]:
    return {record.spec["seed"]: record for record in RunStore(run_dir).records()}


def test_ensembles_and_lone_trials_give_the_same_trials_and_records(runs):
    together, alone = records_by_seed(runs["2"]), records_by_seed(runs["off"])
    assert sorted(together) == sorted(alone) == [0, 1, 2, 3]
    for seed, record in together.items():
        assert record.status is alone[seed].status is TrialStatus.FINISHED
        assert record.id == alone[seed].id
        assert record.spec == alone[seed].spec
        assert record.metrics == pytest.approx(alone[seed].metrics, rel=1e-4, abs=1e-6)
        assert record.code == alone[seed].code


def test_records_say_which_ensemble_their_trial_trained_in(runs):
    together, alone = records_by_seed(runs["2"]), records_by_seed(runs["off"])
    if all(record.ensemble is None for record in [*together.values(), *alone.values()]):
        pytest.skip("no record carries its ensemble yet: run_trials does not set record.ensemble")
    memberships = {seed: (record.ensemble.member, record.ensemble.size) for seed, record in together.items()}
    assert memberships == {0: (0, 2), 1: (1, 2), 2: (0, 2), 3: (1, 2)}
    assert all(record.ensemble is None or record.ensemble.size == 1 for record in alone.values())


def test_a_resumed_run_forms_ensembles_of_its_unfinished_trials_only(runs, tmp_path):
    """Seeds 1 and 3 trained in different ensembles; without their records, they are the run's
    only work and train together. (The library, in this process: resume is the runner's, and the
    command line around it is tested above.)"""
    out = tmp_path / "run"
    shutil.copytree(runs["2"], out)
    before = records_by_seed(out)
    for seed in (1, 3):
        (RunStore(out).trial_dir(before[seed].id) / "record.json").unlink()
    console = Console(file=io.StringIO(), width=500)
    run_suite(load_suite(runs["suite"]), out, device="cpu", console=console, in_process=True, ensemble=2)
    assert "2 already done, running 2 as 1 ensemble of 2 on cpu" in console.file.getvalue()
    after = records_by_seed(out)
    assert all(after[seed].finished_at == before[seed].finished_at for seed in (0, 2))
    assert all(after[seed].status is TrialStatus.FINISHED for seed in (1, 3))
    assert all(after[seed].finished_at != before[seed].finished_at for seed in (1, 3))


@pytest.mark.parametrize("setting", ["0", "foo"])
def test_an_invalid_ensemble_setting_is_a_one_line_error(tmp_path, setting):
    suite = tmp_path / "suite.yaml"
    suite.write_text(FOUR_SEEDS)
    result = run_command(suite, tmp_path / "run", "--ensemble", setting, "-q")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --ensemble must be auto, off or a number of members of at least 1, got '{setting}'"
    ]
    assert not (tmp_path / "run").exists()


#: a ring, and a dataset whose building kills the process that builds it
KILLER = """
import os
import signal

from genbench.data.mixtures import RingMixture
from genbench.data.params import RingParams


def ring(**params):
    return RingMixture(**RingParams(**params).model_dump())


def killed(**params):
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_an_ensemble_that_kills_its_worker_has_each_member_recorded_and_the_others_go_on(
    tmp_path, monkeypatch
):
    """Both members of the killed ensemble are suspects: each runs again alone, dies again and is
    recorded as failed; the ensemble that ran before it keeps its results. (The executor itself:
    a command line around it would only add the cost of its imports.)"""
    (tmp_path / "user_killer.py").write_text(textwrap.dedent(KILLER))
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers start with this process's path
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        SMALL_SUITE.replace("dataset: {name: ring8}", 'dataset: {name: "user_killer:ring"}')
        + 'grid:\n  dataset: ["user_killer:ring", "user_killer:killed"]\n  seed: [0, 1]\n'
    )
    trials = load_suite(suite).trials
    batches = batches_of(form_ensembles(trials, 2, workers=1), tmp_path)
    assert [len(batch.trials) for batch in batches] == [2, 2]
    done = []
    ProcessPoolRunner(1).run(batches, lambda *progress: None, lambda trial_id, status: done.append(status))
    records = [RunStore(tmp_path).record(trial.id) for trial in trials]
    assert [(record.spec["dataset"]["name"], record.spec["seed"], record.status) for record in records] == [
        ("user_killer:ring", 0, TrialStatus.FINISHED),
        ("user_killer:ring", 1, TrialStatus.FINISHED),
        ("user_killer:killed", 0, TrialStatus.FAILED),
        ("user_killer:killed", 1, TrialStatus.FAILED),
    ]
    for record in records[2:]:
        assert "WorkerDied: its worker process was killed by SIGKILL" in record.error
    assert sorted(done) == sorted(record.status for record in records)


def test_workers_take_the_ensembles_with_the_most_work_first(trials_of):
    trials = trials_of("grid: {train.steps: [10, 40, 20], seed: [0, 1]}")
    formed = form_ensembles(trials, "auto", workers=1)
    assert [ensemble[0].spec.train.steps for ensemble in formed] == [10, 40, 20]
    assert [ensemble[0].spec.train.steps for ensemble in longest_first(formed)] == [40, 20, 10]
    assert estimated_work(formed[1]) == 2 * 40 * 2 * formed[1][0].spec.train.batch_size
