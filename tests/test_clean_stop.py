"""SIGTERM and SIGINT stop a run cleanly: no worker, manager or resource tracker left running, the
finished trials kept in records and results.csv, the run folder's lock released, one message that
says how to resume, exit 143 / 130; a rerun trains only what did not finish.

The runs are real `genbench run` processes with two workers. Two trials (a plain ring) finish; two
build a user dataset that waits for a gate file, so the test signals while both workers are inside
a trial, not at a moment of chance. Every process below the run is found through /proc (ppid links)
before the signal, and must be gone a few seconds after the run exits.
"""

from __future__ import annotations

import multiprocessing
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from filelock import FileLock

from genbench.records import TrialStatus
from genbench.runner.executors.processes import stop_processes
from genbench.runner.interrupts import interrupt_flag, interrupts_deferred, received_signal
from genbench.store import HOLDER_FILE, LOCK_FILE, RECORD_FILE, RESULTS_FILE, TRIALS_DIR, RunStore

from .conftest import GENBENCH


def signal_self(signum: signal.Signals) -> None:
    """Send ``signum`` to this process and give Python the moment it takes to run the handler."""
    os.kill(os.getpid(), signum)
    time.sleep(0.2)


def test_sigterm_is_raised_as_the_keyboard_interrupt_of_ctrl_c_and_named():
    with pytest.raises(KeyboardInterrupt), interrupt_flag():
        signal_self(signal.SIGTERM)
    assert received_signal() is signal.SIGTERM
    # the handlers before the run are back
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_second_signal_while_stopping_does_not_cut_the_stop_short():
    stopped = []
    with interrupt_flag():
        with pytest.raises(KeyboardInterrupt):
            signal_self(signal.SIGINT)
        signal_self(signal.SIGTERM)
        stopped.append(True)
    assert stopped == [True]
    assert received_signal() is signal.SIGINT


def test_a_signal_inside_a_deferred_block_is_raised_at_its_end():
    reached_the_end = []
    with pytest.raises(KeyboardInterrupt), interrupt_flag(), interrupts_deferred():
        signal_self(signal.SIGTERM)
        reached_the_end.append(True)
    assert reached_the_end == [True]


def ignore_sigterm_and_wait(ready) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ready.set()
    time.sleep(60)


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period():
    # forked: a spawned child would import this module (and torch) first; these run no torch
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    polite = context.Process(target=time.sleep, args=(60,))
    stubborn = context.Process(target=ignore_sigterm_and_wait, args=(ready,))
    polite.start()
    stubborn.start()
    assert ready.wait(timeout=120)
    began = time.monotonic()
    stop_processes([polite, stubborn], grace_seconds=1.0)
    assert (polite.exitcode, stubborn.exitcode) == (-signal.SIGTERM, -signal.SIGKILL)
    assert 1.0 <= time.monotonic() - began < 10


USER_DATA = '''
import os
import signal
import time
from pathlib import Path

from genbench.data.mixtures import RingMixture
from genbench.data.params import RingParams


def ring(**params):
    return RingMixture(**RingParams(**params).model_dump())


def gated(**params):
    """The ring, once the file GENBENCH_TEST_GATE exists; a file in GENBENCH_TEST_STARTED says it
    waits. With GENBENCH_TEST_IGNORE_SIGTERM, it ignores SIGTERM, as some user code does."""
    if "GENBENCH_TEST_IGNORE_SIGTERM" in os.environ:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    Path(os.environ["GENBENCH_TEST_STARTED"], str(os.getpid())).touch()
    while not Path(os.environ["GENBENCH_TEST_GATE"]).exists():
        time.sleep(0.05)
    return ring(**params)
'''

SUITE = """
name: stop
dataset: {name: "user_data:ring"}
model: {name: mlp_gan, params: {latent_dim: 2, hidden: 16, depth: 2}}
loss: ns
optimizer: {name: adam, lr: 1.0e-3}
train: {steps: 10, batch_size: 32, eval_every: 0, eval_samples: 256}
metrics: [modes]
grid:
  dataset: ["user_data:ring", "user_data:gated"]
  seed: [0, 1]
"""

#: how long a run may take to start and finish its first two trials on a busy machine
START_SECONDS = 180
#: how long the processes of a stopped run may take to be gone
GONE_SECONDS = 15


def process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, start time) of every process, from /proc/<pid>/stat."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended while we looked
        # fields after the command name (which may hold spaces): state ppid ... starttime (the 20th)
        fields = text[text.rindex(")") + 2 :].split()
        table[int(stat.parent.name)] = (int(fields[1]), fields[0], fields[19])
    return table


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid``, by pid, with its start time (a pid can be reused)."""
    table = process_table()
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _, started) in table.items():
            if ppid == parent and child not in found:
                found[child] = started
                frontier.append(child)
    return found


def still_running(processes: dict[int, str]) -> list[int]:
    """Those of ``processes`` (pid -> start time) still running: not gone, not a zombie."""
    table = process_table()
    return [
        pid
        for pid, started in processes.items()
        if pid in table and table[pid][2] == started and table[pid][1] != "Z"
    ]


class StoppableRun:
    """`genbench run` of the suite above in a session of its own (a terminal's process group)."""

    def __init__(self, folder: Path) -> None:
        (folder / "user_data.py").write_text(USER_DATA)
        self.suite = folder / "suite.yaml"
        self.suite.write_text(textwrap.dedent(SUITE).lstrip())
        self.folder = folder
        self.run_dir = folder / "run"
        self.gate = folder / "gate"
        self.started = folder / "started"
        self.started.mkdir()
        self.arguments = ["run", str(self.suite), "--out", str(self.run_dir), "--device", "cpu"]
        self.arguments += ["--workers", "2", "--ensemble", "off"]
        self.process: subprocess.Popen | None = None

    def start(self, name: str, **variables: str) -> subprocess.Popen:
        environment = {
            **os.environ,
            **variables,
            "PYTHONPATH": str(self.folder),
            "GENBENCH_TEST_GATE": str(self.gate),
            "GENBENCH_TEST_STARTED": str(self.started),
        }
        with (self.folder / f"{name}.err").open("w") as err:
            self.process = subprocess.Popen(
                [GENBENCH, *self.arguments],
                cwd=self.folder,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        return self.process

    def stderr(self, name: str) -> str:
        return (self.folder / f"{name}.err").read_text()

    def finished_records(self) -> int:
        return len(list(self.run_dir.glob(f"{TRIALS_DIR}/*/{RECORD_FILE}")))

    def wait_until_both_workers_wait(self) -> None:
        """The two ring trials recorded, and both workers inside a gated trial."""
        deadline = time.monotonic() + START_SECONDS
        while self.finished_records() < 2 or len(list(self.started.iterdir())) < 2:
            assert self.process.poll() is None, f"the run ended: {self.process.returncode}"
            assert time.monotonic() < deadline, f"the trials did not start in {START_SECONDS} s"
            time.sleep(0.1)

    def resume_message(self, stop: str) -> str:
        return (
            f"interrupted ({stop}): 2 of 4 trials finished and kept; "
            f'run "{shlex.join(["genbench", *self.arguments])}" again to resume'
        )


@pytest.fixture
def stoppable(tmp_path):
    run = StoppableRun(tmp_path)
    yield run
    if run.process is not None and run.process.poll() is None:
        os.killpg(run.process.pid, signal.SIGKILL)
        run.process.wait()


def stop_and_check(run: StoppableRun, send, stop: signal.Signals, **variables: str) -> str:
    """Signal the waiting run with ``send(pid)``; check that it and everything below it ended, what
    it kept and said. Returns its stderr."""
    process = run.start("first", **variables)
    run.wait_until_both_workers_wait()
    below = descendants(process.pid)
    # two workers, the multiprocessing manager and the resource tracker
    assert len(below) >= 4, below
    send(process.pid)
    assert process.wait(timeout=60) == 128 + stop
    deadline = time.monotonic() + GONE_SECONDS
    while still_running(below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not still_running(below)
    stderr = run.stderr("first")
    assert run.resume_message(stop.name) in stderr
    assert "Traceback" not in stderr
    # the finished trials are kept, in their records and in results.csv
    records = RunStore(run.run_dir).records()
    assert sorted((r.spec["dataset"]["name"], r.status) for r in records) == [
        ("user_data:ring", TrialStatus.FINISHED),
        ("user_data:ring", TrialStatus.FINISHED),
    ]
    table = pd.read_csv(run.run_dir / RESULTS_FILE)
    assert sorted(table["trial"]) == sorted(record.id for record in records)
    # the lock is released: no holder named, another run may take it
    assert not (run.run_dir / HOLDER_FILE).exists()
    FileLock(run.run_dir / LOCK_FILE).acquire(timeout=0)
    return stderr


@pytest.mark.slow
def test_sigterm_stops_every_worker_keeps_the_finished_trials_and_a_rerun_runs_the_rest(stoppable):
    stop_and_check(stoppable, lambda pid: os.kill(pid, signal.SIGTERM), signal.SIGTERM)
    stoppable.gate.touch()
    rerun = stoppable.start("rerun")
    assert rerun.wait(timeout=300) == 0, stoppable.stderr("rerun")
    assert "4 trials, 2 already done, running 2" in stoppable.stderr("rerun")
    assert len(RunStore(stoppable.run_dir).records()) == 4


@pytest.mark.slow
def test_sigint_to_the_run_alone_stops_it_with_130(stoppable):
    stop_and_check(stoppable, lambda pid: os.kill(pid, signal.SIGINT), signal.SIGINT)


@pytest.mark.slow
def test_ctrl_c_twice_at_a_terminal_stops_the_run_once_without_a_traceback_from_any_worker(stoppable):
    """A terminal sends SIGINT to the whole process group, workers included; an impatient user
    presses Ctrl-C again while the run stops. The trials' code ignores SIGTERM, so the stop has to
    wait out its grace period and kill the workers: the second Ctrl-C comes in the middle of it."""

    def ctrl_c_twice(pid: int) -> None:
        os.killpg(pid, signal.SIGINT)
        time.sleep(1.0)
        os.killpg(pid, signal.SIGINT)

    stderr = stop_and_check(stoppable, ctrl_c_twice, signal.SIGINT, GENBENCH_TEST_IGNORE_SIGTERM="1")
    assert stderr.count("interrupted (SIGINT)") == 1
    assert "KeyboardInterrupt" not in stderr


INLINE_RUN = """
import sys
from genbench.runner import run_suite
from genbench.runner.interrupts import received_signal
from genbench.suite import load_suite

try:
    run_suite(load_suite(sys.argv[1]), sys.argv[2], device="cpu", quiet=True, in_process=True, ensemble="off")
except KeyboardInterrupt:
    print(f"stopped by {received_signal().name}")
"""


def test_sigterm_stops_the_in_process_executor_as_a_keyboard_interrupt_after_writing_the_results(stoppable):
    """The library's own executor (no worker processes): SIGTERM reaches the caller as the same
    KeyboardInterrupt as Ctrl-C, once the results table of what finished is written."""
    (stoppable.folder / "inline.py").write_text(INLINE_RUN)
    environment = {
        **os.environ,
        "PYTHONPATH": str(stoppable.folder),
        "GENBENCH_TEST_GATE": str(stoppable.gate),
        "GENBENCH_TEST_STARTED": str(stoppable.started),
    }
    stoppable.process = subprocess.Popen(
        [sys.executable, "inline.py", str(stoppable.suite), str(stoppable.run_dir)],
        cwd=stoppable.folder,
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_SECONDS
    while not any(stoppable.started.iterdir()):
        assert stoppable.process.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    os.kill(stoppable.process.pid, signal.SIGTERM)
    out, _ = stoppable.process.communicate(timeout=60)
    assert stoppable.process.returncode == 0
    assert out.strip() == "stopped by SIGTERM"
    records = RunStore(stoppable.run_dir).records()
    assert [record.spec["dataset"]["name"] for record in records] == ["user_data:ring"] * 2
    assert len(pd.read_csv(stoppable.run_dir / RESULTS_FILE)) == 2
