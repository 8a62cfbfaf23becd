"""The ray executor against a real single-node Ray, started once for this module (Ray has no local
mode any more, and a start costs seconds). Here also the issue's done-when test: the smoke suite
gives the same results with the local pool, SLURM (submitit's local executor) and Ray, each through
`genbench run`; and a run begun with one executor resumes with another."""

from __future__ import annotations

import shutil
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from genbench.catalog import METRICS
from genbench.records import TrialStatus
from genbench.runner import run_suite
from genbench.runner.executors.settings import ExecutionSettings
from genbench.store import RECORD_FILE, RunStore
from genbench.suite import load_suite

from .conftest import GENBENCH, REPO, TINY_SUITE, genbench_process
from .test_clean_stop import descendants, still_running
from .test_executors import SUITE, USER_MODULE, batches_of

ray = pytest.importorskip("ray")
pytest.importorskip("submitit")

RAY = ExecutionSettings(executor="ray", ray={"max_retries": 0})
SLURM_HERE = ExecutionSettings(executor="slurm", slurm={"cluster": "local", "time_min": 5})


@pytest.mark.slow
def test_sigterm_stops_a_ray_run_cleanly_although_ray_init_takes_sigterm_over(write_suite, tmp_path):
    """`ray.init` installs its own SIGTERM handler, which aborts the process (exit 134, nothing
    written, tasks left running); the run keeps its own. This test starts no Ray of the module's:
    `genbench run` starts one of its own, as a user's run without `--ray-address` does."""
    long_trials = TINY_SUITE.replace("steps: 40", "steps: 1000000").replace("eval_every: 20", "eval_every: 0")
    suite = write_suite(long_trials + "execution: {executor: ray}\n")
    process = subprocess.Popen(
        [GENBENCH, "run", suite, "--out", tmp_path / "run", "--device", "cpu", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Ray's processes are up below the run, and 10 s on its task is training in a Ray worker
    started = time.monotonic()
    while len(descendants(process.pid)) < 3 or time.monotonic() - started < 10:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() - started < 120, "Ray never started"
        time.sleep(0.5)
    processes = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    stderr = process.communicate(timeout=60)[1]
    assert process.returncode == 143, stderr
    assert "interrupted (SIGTERM): 0 of 1 trials finished and kept" in stderr
    assert (tmp_path / "run" / "results.csv").is_file()
    gone = time.monotonic() + 30
    while still_running(processes) and time.monotonic() < gone:
        time.sleep(0.5)
    assert still_running(processes) == []


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory) -> tuple[str, Path]:
    """A single-node Ray of two CPUs: its address, and a folder on its workers' Python path for
    user modules (``user_datasets``)."""
    modules = tmp_path_factory.mktemp("ray_user_code")
    (modules / "user_datasets.py").write_text(textwrap.dedent(USER_MODULE))
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="WARNING",
        runtime_env={"env_vars": {"PYTHONPATH": str(modules)}},
    )
    yield ray.get_runtime_context().gcs_address, modules
    ray.shutdown()


def metric_table(run_dir: Path) -> pd.DataFrame:
    """The trials' statuses and every metric column of ``results.csv`` (not the timings)."""
    table = pd.read_csv(run_dir / "results.csv").set_index("trial").sort_index()
    return table[["status", *(column for column in table.columns if column in METRICS.outputs())]]


@pytest.mark.slow
def test_local_slurm_and_ray_give_the_same_results_on_the_smoke_suite(ray_cluster, tmp_path):
    address, _ = ray_cluster
    smoke = (REPO / "suites" / "smoke.yaml").read_text()
    suite = tmp_path / "smoke.yaml"
    suite.write_text(smoke + "execution: {slurm: {cluster: local, time_min: 10}}\n")
    common = ("--device", "cpu", "--workers", "2", "-q")
    runs = {
        "local": (),
        "slurm": ("--executor", "slurm"),
        "ray": ("--executor", "ray", "--ray-address", address),
    }
    for name, options in runs.items():
        result = genbench_process("run", suite, "--out", tmp_path / name, *common, *options, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "smoke: 4 trials: 4 finished" in result.stderr
    local = metric_table(tmp_path / "local")
    assert {"modes_covered", "precision", "recall", "density", "coverage"} <= set(local.columns)
    for name in ("slurm", "ray"):
        pd.testing.assert_frame_equal(metric_table(tmp_path / name), local, check_exact=True)


def record_stamps(run_dir: Path) -> dict[str, int]:
    return {
        path.parent.name: path.stat().st_mtime_ns for path in (run_dir / "trials").glob(f"*/{RECORD_FILE}")
    }


@pytest.mark.slow
def test_a_run_begun_with_one_executor_resumes_with_another(ray_cluster, write_suite, tmp_path):
    """Trials done by one executor are not run again by another: a trial whose folder is removed
    is the only one that runs, with slurm, then with ray."""
    suite = load_suite(write_suite(SUITE))
    run_dir = tmp_path / "run"
    run_suite(suite, run_dir, device="cpu", quiet=True, in_process=True)
    for execution, gone in ((SLURM_HERE, suite.trials[0].id), (RAY, suite.trials[3].id)):
        before = record_stamps(run_dir)
        shutil.rmtree(run_dir / "trials" / gone)
        outcome = run_suite(suite, run_dir, device="cpu", quiet=True, execution=execution)
        assert outcome.statuses == {TrialStatus.FINISHED: 4}
        after = record_stamps(run_dir)
        assert set(after) == set(before)
        assert {trial for trial in after if after[trial] != before[trial]} == {gone}


def test_a_ray_task_whose_worker_dies_leaves_failed_records(ray_cluster, write_suite, tmp_path, monkeypatch):
    _, modules = ray_cluster
    monkeypatch.syspath_prepend(str(modules))
    grid = 'grid:\n  dataset: ["user_datasets:ring", "user_datasets:killed"]\n'
    suite = TINY_SUITE.replace("dataset: {name: ring8}", 'dataset: {name: "user_datasets:ring"}') + grid
    outcome = run_suite(
        load_suite(write_suite(suite)),
        tmp_path / "run",
        device="cpu",
        quiet=True,
        ensemble="off",
        execution=RAY,
    )
    assert outcome.statuses == {TrialStatus.FINISHED: 1, TrialStatus.FAILED: 1}
    (killed,) = [
        record for record in RunStore(tmp_path / "run").records() if record.status is TrialStatus.FAILED
    ]
    assert killed.spec["dataset"]["name"] == "user_datasets:killed"
    assert killed.error.startswith("RayTaskFailed: its Ray task ended without recording this trial")
    assert "WorkerCrashedError" in killed.error or "died" in killed.error


def test_ctrl_c_cancels_the_ray_tasks_and_leaves_a_ray_it_did_not_start(
    ray_cluster, write_suite, tmp_path, monkeypatch
):
    from genbench.runner.executors.ray import RayExecutor

    _, modules = ray_cluster
    monkeypatch.syspath_prepend(str(modules))
    grid = 'grid:\n  dataset: ["user_datasets:ring", "user_datasets:slow"]\n'
    suite = TINY_SUITE.replace("dataset: {name: ring8}", 'dataset: {name: "user_datasets:ring"}') + grid
    batches = batches_of(write_suite(suite), tmp_path / "run")

    def interrupt(trial_id: str, status: TrialStatus) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        RayExecutor(RAY, tmp_path / "run").run(batches, lambda *step: None, interrupt)
    deadline = time.monotonic() + 30
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == 2  # the slow task no longer holds its CPU
    assert ray.is_initialized()
    assert RunStore(tmp_path / "run").record(batches[1].trials[0].id) is None
