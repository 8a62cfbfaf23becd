"""Executors beyond the local pool (issue 12, item 1): the suite's ``execution:`` section and the
``--executor`` option, and the slurm executor through submitit's local executor, which runs each
job as real processes through the same code path as sbatch. Ray has its own module
(test_executors_ray.py), which also holds the test that all three executors give the same numbers."""

from __future__ import annotations

import os
import re
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genbench.cli import app
from genbench.code_identity import code_identities
from genbench.errors import GenbenchError, SuiteError
from genbench.records import TrialStatus
from genbench.runner import default_run_dir, run_suite
from genbench.runner.batch import TrialBatch
from genbench.runner.executors import check_available
from genbench.runner.executors.remote import RecordWatch
from genbench.runner.executors.settings import ExecutionSettings
from genbench.store import RunStore
from genbench.suite import load_suite

from .conftest import TINY_SUITE

pytest.importorskip("submitit")

#: four trials in two ensembles of two seeds; a few steps each
SUITE = (
    TINY_SUITE.replace("steps: 40", "steps: 20").replace("eval_every: 20", "eval_every: 10")
    + "grid:\n  loss: [ns, hinge]\n  seed: [0, 1]\n"
)
SLURM_HERE = "execution: {executor: slurm, slurm: {cluster: local, time_min: 5}}\n"

#: a ring; a dataset that says why on stderr and kills its process; a dataset that takes long
USER_MODULE = """
import os
import re
import signal
import sys
import time

from genbench.data.mixtures import RingMixture
from genbench.data.params import RingParams


def ring(**params):
    return RingMixture(**RingParams(**params).model_dump())


def killed(**params):
    print("simulated: the node ran out of memory", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def slow(**params):
    time.sleep(600)
"""


def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``user_datasets`` importable here and in the jobs' processes (they inherit the environment)."""
    (tmp_path / "user_datasets.py").write_text(textwrap.dedent(USER_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))


def batches_of(suite_path: Path, run_dir: Path) -> list[TrialBatch]:
    """Each trial of the suite a batch of its own, in the suite's order."""
    trials = load_suite(suite_path).trials
    codes = code_identities(trial.spec.model_dump(mode="json") for trial in trials)
    return [
        TrialBatch((trial,), (code,), "tiny", run_dir, "cpu")
        for trial, code in zip(trials, codes, strict=True)
    ]


# -- the execution section and the options -----------------------------------------------------


def test_the_execution_section_changes_neither_trial_ids_nor_the_run_folder(write_suite):
    plain = load_suite(write_suite(SUITE, "plain.yaml"))
    slurm = load_suite(write_suite(SUITE + SLURM_HERE, "slurm.yaml"))
    assert slurm.execution.executor == "slurm" and plain.execution.executor == "local"
    assert [trial.id for trial in slurm.trials] == [trial.id for trial in plain.trials]
    assert default_run_dir(slurm) == default_run_dir(plain)


@pytest.mark.parametrize(
    ("section", "line", "key", "problem"),
    [
        ("{executor: slurmm}", 8, "execution.executor", "unknown executor 'slurmm'. Did you mean 'slurm'?"),
        ("{slurm: {partitionn: gpu}}", 8, "execution.slurm.partitionn", "Extra inputs are not permitted"),
        ("\n  ray: {gpus_per_task: -1}", 9, "execution.ray.gpus_per_task", "greater than or equal to 0"),
    ],
)
def test_an_execution_error_names_the_file_line_and_key(write_suite, section, line, key, problem):
    path = write_suite(TINY_SUITE + f"execution: {section}\n")
    with pytest.raises(SuiteError) as error:
        load_suite(path)
    assert (error.value.line, error.value.key) == (line, key)
    assert problem in error.value.problem


def test_command_line_options_override_the_suite(write_suite):
    suite = load_suite(write_suite(TINY_SUITE + "execution: {executor: ray, ray: {address: auto}}\n"))
    assert suite.execution.overridden(None, None) == suite.execution
    local = suite.execution.overridden("local", "10.0.0.1:6379")
    assert (local.executor, local.ray.address) == ("local", "10.0.0.1:6379")
    with pytest.raises(
        GenbenchError, match=re.escape("--executor: unknown executor 'rayy'. Did you mean 'ray'?")
    ):
        suite.execution.overridden("rayy", None)


def test_an_unknown_executor_option_is_exit_2_and_writes_nothing(write_suite, tmp_path):
    result = CliRunner().invoke(
        app, ["run", str(write_suite(TINY_SUITE)), "--out", str(tmp_path / "run"), "--executor", "slurmm"]
    )
    assert result.exit_code == 2
    assert "--executor: unknown executor 'slurmm'. Did you mean 'slurm'?" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("executor", "package"), [("slurm", "submitit"), ("ray", "ray")])
def test_without_its_package_an_executor_names_the_extra_to_install(
    monkeypatch, write_suite, tmp_path, executor, package
):
    monkeypatch.setitem(sys.modules, package, None)  # makes `import package` fail
    monkeypatch.delitem(sys.modules, f"genbench.runner.executors.{executor}", raising=False)
    expected = f"the {executor} executor needs the '{package}' package: pip install 'genbench[{executor}]'"
    with pytest.raises(GenbenchError, match=re.escape(expected)):
        check_available(ExecutionSettings(executor=executor))
    result = CliRunner().invoke(
        app, ["run", str(write_suite(TINY_SUITE)), "--out", str(tmp_path / "run"), "--executor", executor]
    )
    assert result.exit_code == 2 and expected in result.output
    assert not (tmp_path / "run").exists()


def test_the_slurm_settings_become_the_jobs_sbatch_options(tmp_path, monkeypatch):
    """What sbatch receives, from submitit's own writer of the submission file (a stand-in srun on
    the PATH lets submitit believe it is on a cluster)."""
    from genbench.runner.executors.slurm import submitit_executor

    (tmp_path / "srun").write_text("#!/bin/sh\n")
    (tmp_path / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    settings = ExecutionSettings.model_validate(
        {
            "executor": "slurm",
            "slurm": {
                "partition": "gpu",
                "gpus_per_job": 1,
                "cpus_per_job": 4,
                "mem_gb": 16,
                "time_min": 90,
                "array_parallelism": 8,
                "setup": ["module load cuda"],
                "sbatch": {"account": "gan-study"},
            },
        }
    ).slurm
    executor = submitit_executor(settings, tmp_path / "slurm")
    script = executor._executor._make_submission_file_text("python -m job", "uid")
    for line in (
        "#SBATCH --partition=gpu",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=16GB",
        "#SBATCH --time=90",
        "#SBATCH --account=gan-study",
        f"#SBATCH --error={tmp_path / 'slurm'}/%j_0_log.err",
        "module load cuda",
    ):
        assert line in script.splitlines()
    assert executor._executor.parameters["array_parallelism"] == 8


def test_slurm_without_a_cluster_says_how_to_run_here(tmp_path, monkeypatch):
    from genbench.runner.executors.slurm import SlurmExecutor

    monkeypatch.setenv("PATH", str(tmp_path))  # no srun
    with pytest.raises(GenbenchError, match=re.escape("set execution.slurm.cluster: local")):
        SlurmExecutor(ExecutionSettings(executor="slurm"), tmp_path)


# -- the record watch ---------------------------------------------------------------------------


def test_the_record_watch_reports_new_records_only(write_suite, tmp_path):
    """A trial with an old record (failed before) is done when its record is replaced, not before."""
    from genbench.runner.batch import failed_record

    batches = batches_of(write_suite(SUITE), tmp_path)
    store = RunStore(tmp_path)
    old = batches[0]
    store.write_trial(failed_record(old.trials[0], old.codes[0], "tiny", "an earlier failure", "then"))
    done = []
    watch = RecordWatch(store, batches, lambda trial_id, status: done.append((trial_id, status)))
    watch.poll()
    assert done == []
    new = batches[1]
    finished = failed_record(new.trials[0], new.codes[0], "tiny", "", "now")
    store.write_trial(finished.model_copy(update={"status": TrialStatus.FINISHED, "error": None}))
    store.write_trial(failed_record(old.trials[0], old.codes[0], "tiny", "again", "now"))
    watch.poll()
    watch.poll()  # each trial is reported once
    assert sorted(done) == sorted(
        [(old.trials[0].id, TrialStatus.FAILED), (new.trials[0].id, TrialStatus.FINISHED)]
    )
    assert watch.pending == {batch.trials[0].id for batch in batches[2:]}


def test_the_record_watch_looks_at_a_bounded_number_of_records_per_poll(write_suite, tmp_path, monkeypatch):
    """Each poll stats at most LOOKS_PER_POLL pending records, taking the pending trials in turn, so
    a study of 10,000 trials does not send 10,000 metadata requests a second to a shared file system
    and every trial is still seen."""
    from genbench.runner.batch import failed_record
    from genbench.runner.executors import remote

    monkeypatch.setattr(remote, "LOOKS_PER_POLL", 3)
    batches = batches_of(write_suite(SUITE), tmp_path)
    store = RunStore(tmp_path)
    done = []
    watch = RecordWatch(store, batches, lambda trial_id, status: done.append(trial_id))
    looked = []
    stamp = watch.stamp
    monkeypatch.setattr(watch, "stamp", lambda trial_id: looked.append(trial_id) or stamp(trial_id))
    ids = [batch.trials[0].id for batch in batches]
    watch.poll()  # nothing recorded yet: the first three are looked at
    assert looked == ids[:3] and done == []
    for batch in batches:
        store.write_trial(failed_record(batch.trials[0], batch.codes[0], "tiny", "it failed", "now"))
    looked.clear()
    watch.poll()  # the fourth's turn, then the first two again
    assert looked == [ids[3], ids[0], ids[1]] and done == [ids[3], ids[0], ids[1]]
    looked.clear()
    watch.poll()  # one pending trial left: one look
    assert looked == [ids[2]] and done == [ids[3], ids[0], ids[1], ids[2]]
    assert watch.pending == set()


# -- slurm through submitit's local executor -----------------------------------------------------


def test_a_slurm_job_runs_its_batches_and_keeps_its_logs_in_the_run_folder(write_suite, tmp_path):
    """Two ensembles (one per loss) in one job: one job's log, every trial recorded."""
    one_job = SLURM_HERE.replace("time_min: 5", "time_min: 5, batches_per_job: 2")
    outcome = run_suite(load_suite(write_suite(SUITE + one_job)), tmp_path / "run", device="cpu", quiet=True)
    assert outcome.statuses == {TrialStatus.FINISHED: 4}
    (log,) = (tmp_path / "run" / "slurm").glob("*_0_log.err")
    assert log.with_name(log.name.replace("_log.err", "_result.pkl")).is_file()


@pytest.mark.slow
def test_a_slurm_job_that_dies_leaves_failed_records_naming_the_job_and_its_error_log(
    write_suite, tmp_path, monkeypatch
):
    user_module(tmp_path, monkeypatch)
    grid = 'grid:\n  dataset: ["user_datasets:ring", "user_datasets:killed"]\n'
    suite = TINY_SUITE.replace("dataset: {name: ring8}", 'dataset: {name: "user_datasets:ring"}') + grid
    outcome = run_suite(
        load_suite(write_suite(suite + SLURM_HERE)),
        tmp_path / "run",
        device="cpu",
        quiet=True,
        ensemble="off",
    )
    assert outcome.statuses == {TrialStatus.FINISHED: 1, TrialStatus.FAILED: 1}
    (killed,) = [
        record for record in RunStore(tmp_path / "run").records() if record.status is TrialStatus.FAILED
    ]
    assert killed.spec["dataset"]["name"] == "user_datasets:killed"
    assert killed.error.startswith("SlurmJobEnded: job ")
    assert "simulated: the node ran out of memory" in killed.error
    job_id = killed.error.split()[2]
    assert (tmp_path / "run" / "slurm" / f"{job_id}_0_log.err").is_file()


@pytest.mark.slow
def test_a_requeued_slurm_job_skips_the_trials_it_has_recorded(write_suite, tmp_path):
    """A job of two batches gets the preemption signal after its first trial is recorded: submitit
    requeues it (Checkpointable), and the rerun records the second trial and leaves the first alone."""
    from genbench.runner.executors.slurm import BatchesJob, submitit_executor

    suite = write_suite(TINY_SUITE.replace("steps: 40", "steps: 20") + "grid:\n  train.steps: [20, 1000]\n")
    first, second = batches_of(suite, tmp_path)
    settings = ExecutionSettings.model_validate({"slurm": {"cluster": "local", "time_min": 5}}).slurm
    job = submitit_executor(settings, tmp_path / "slurm").submit(BatchesJob((first, second), threads=1))
    store = RunStore(tmp_path)
    record = store.trial_dir(first.trials[0].id) / "record.json"
    deadline = time.monotonic() + 120
    while not record.is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    first_record = record.stat()
    # what SLURM sends a job before preemption or its time limit (submitit's local controller, the
    # job's process, would not pass it on to the task)
    (task,) = children(job._process.pid)
    os.kill(task, signal.SIGUSR2)
    statuses = job.result()
    assert statuses == {first.trials[0].id: "finished", second.trials[0].id: "finished"}
    assert (
        record.stat().st_ino == first_record.st_ino and record.stat().st_mtime_ns == first_record.st_mtime_ns
    )
    assert "Requeued" in (job.stderr() or "") + (job.stdout() or "")


@pytest.mark.slow
def test_ctrl_c_cancels_the_slurm_jobs_not_finished(write_suite, tmp_path, monkeypatch):
    user_module(tmp_path, monkeypatch)
    from genbench.runner.executors.slurm import SlurmExecutor

    grid = 'grid:\n  dataset: ["user_datasets:ring", "user_datasets:slow"]\n'
    suite = TINY_SUITE.replace("dataset: {name: ring8}", 'dataset: {name: "user_datasets:ring"}') + grid
    batches = batches_of(write_suite(suite), tmp_path / "run")
    settings = ExecutionSettings.model_validate({"executor": "slurm", "slurm": {"cluster": "local"}})

    def interrupt(trial_id: str, status: TrialStatus) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        SlurmExecutor(settings, tmp_path / "run").run(batches, lambda *step: None, interrupt)
    deadline = time.monotonic() + 30
    while job_processes(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job_processes(tmp_path) == []
    assert RunStore(tmp_path / "run").record(batches[1].trials[0].id) is None


def job_processes(folder: Path) -> list[int]:
    """Processes whose command line names a path under ``folder`` (submitit's jobs name their folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
            state = (entry / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if str(folder) in command and state != "Z":
            found.append(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().split(")")[-1].split()
        except (OSError, NotADirectoryError):
            continue
        if entry.name.isdigit() and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("executor", "setting"),
    [("slurm", "execution.slurm.gpus_per_job"), ("ray", "execution.ray.gpus_per_task")],
)
def test_a_cuda_device_is_refused_for_jobs_granted_no_gpu(write_suite, tmp_path, executor, setting):
    """Refused before anything is submitted (or Ray started): each job would see no GPU."""
    from dataclasses import replace

    from genbench.runner.executors import EXECUTORS

    pytest.importorskip(executor if executor == "ray" else "submitit")
    settings = ExecutionSettings.model_validate({"executor": executor, "slurm": {"cluster": "local"}})
    batches = [replace(batch, device="cuda") for batch in batches_of(write_suite(SUITE), tmp_path)]
    remote = EXECUTORS.get(executor).load()(settings, tmp_path)
    with pytest.raises(
        GenbenchError, match=re.escape(f"--device cuda needs a GPU per job, but {setting} is 0")
    ):
        remote.run(batches, lambda *step: None, lambda *done: None)
    assert not list(tmp_path.glob("slurm/*.pkl"))  # nothing submitted


def test_the_node_that_runs_a_job_resolves_the_device(write_suite, tmp_path, monkeypatch):
    """`auto` travels to the jobs as `auto`: a submitting host that has a GPU (faked here) must not
    send `cuda` to nodes that have none (the jobs are real processes without a GPU)."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    suite = write_suite(SUITE.replace("grid:\n  loss: [ns, hinge]\n", "grid:\n") + SLURM_HERE)
    outcome = run_suite(load_suite(suite), tmp_path / "run", device="auto", quiet=True)
    assert outcome.statuses == {TrialStatus.FINISHED: 2}
    store = RunStore(outcome.run_dir)
    assert store.run_info().device == "auto"
    assert {record.environment["device"].split(":")[0] for record in store.records()} == {"cpu"}
