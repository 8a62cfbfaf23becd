"""One `genbench run` per run folder at a time: a second run into a held folder is refused naming
the holder, or waits for it with --wait and then trains nothing twice; the lock goes with its
holder however it ends (an exception, Ctrl-C, kill -9).

The first run's trials build a user dataset that waits for a gate file, so the test decides when
the first run finishes instead of racing it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from genbench.errors import GenbenchError
from genbench.report import build_report
from genbench.runner.lock import hold_run_folder
from genbench.store import HOLDER_FILE, LOCK_FILE, RECORD_FILE, TRIALS_DIR

from .conftest import GENBENCH, TINY_SUITE, run_dir_of
from .hand_runs import write_trials_run
from .test_report_document import trained

GATED_DATASET = '''
import os
import time
from pathlib import Path

from genbench.data.mixtures import RingMixture
from genbench.data.params import RingParams


def ring(**params):
    """ring8, once the file named by GENBENCH_TEST_GATE exists."""
    gate = Path(os.environ["GENBENCH_TEST_GATE"])
    while not gate.exists():
        time.sleep(0.05)
    return RingMixture(**RingParams(**params).model_dump())
'''

SMALL_TRAIN = "train: {steps: 10, batch_size: 32, eval_every: 0, eval_samples: 256}"
#: how long a run may take to start and take the lock on a busy machine
START_SECONDS = 120


class GatedRuns:
    """Runs of one suite with a gated dataset into one folder, as separate `genbench run` processes."""

    def __init__(self, folder: Path, seeds: int) -> None:
        (folder / "gated.py").write_text(GATED_DATASET)
        suite = TINY_SUITE.replace("dataset: {name: ring8}", 'dataset: {name: "gated:ring"}')
        suite = suite.replace(
            "train: {steps: 40, batch_size: 32, eval_every: 20, eval_samples: 256}", SMALL_TRAIN
        )
        self.suite = folder / "suite.yaml"
        self.suite.write_text(suite + f"grid: {{seed: {list(range(seeds))}}}\n")
        self.folder = folder
        self.run_dir = folder / "run"
        self.gate = folder / "gate"
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str, *options: str) -> subprocess.Popen:
        """A run in a session of its own (so that it and its workers can be killed together), its
        output in ``<name>.out`` and ``<name>.err``."""
        command = [GENBENCH, "run", str(self.suite), "--out", str(self.run_dir), "--device", "cpu"]
        environment = {**os.environ, "PYTHONPATH": str(self.folder), "GENBENCH_TEST_GATE": str(self.gate)}
        with (self.folder / f"{name}.out").open("w") as out, (self.folder / f"{name}.err").open("w") as err:
            process = subprocess.Popen(
                [*command, "--workers", "1", *options],
                cwd=self.folder,
                env=environment,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def run(self, name: str, *options: str) -> tuple[int, str]:
        """A run to its end: exit code and stderr."""
        process = self.start(name, *options)
        return process.wait(timeout=300), self.stderr(name)

    def stderr(self, name: str) -> str:
        return (self.folder / f"{name}.err").read_text()

    def wait_until(self, condition, process: subprocess.Popen, what: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not condition():
            assert process.poll() is None, f"the run ended before {what}: {process.returncode}"
            assert time.monotonic() < deadline, f"no {what} after {START_SECONDS} s"
            time.sleep(0.05)

    def wait_until_held(self, process: subprocess.Popen) -> None:
        self.wait_until((self.run_dir / HOLDER_FILE).exists, process, "holder file")

    def open_gate(self) -> None:
        self.gate.touch()

    def kill(self, process: subprocess.Popen) -> None:
        """kill -9 the run and its workers, as a machine's crash would."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def record_times(self) -> dict[str, int]:
        return {
            path.parent.name: path.stat().st_mtime_ns
            for path in self.run_dir.glob(f"{TRIALS_DIR}/*/{RECORD_FILE}")
        }


@pytest.fixture
def gated(tmp_path):
    runs = GatedRuns(tmp_path, seeds=2)
    yield runs
    for process in runs.processes:
        if process.poll() is None:
            runs.kill(process)


def test_a_second_run_into_a_held_folder_exits_2_naming_the_holder(gated):
    first = gated.start("first")
    gated.wait_until_held(first)
    code, stderr = gated.run("second")
    assert code == 2
    assert f"{gated.run_dir} is in use by another `genbench run`" in stderr
    assert f"process {first.pid} on {socket.gethostname()}, started 20" in stderr
    assert "--wait" in stderr and "Traceback" not in stderr
    # the refused run leaves the holder's lock and name alone
    assert f'"pid":{first.pid}' in (gated.run_dir / HOLDER_FILE).read_text()
    assert first.poll() is None


@pytest.mark.slow
def test_a_waiting_run_starts_when_the_first_finishes_and_trains_nothing_twice(gated):
    first = gated.start("first")
    gated.wait_until_held(first)
    second = gated.start("second", "--wait")
    gated.wait_until(lambda: "waiting for it to finish" in gated.stderr("second"), second, "waiting notice")
    assert f"process {first.pid}" in gated.stderr("second")
    gated.open_gate()
    assert first.wait(timeout=300) == 0, gated.stderr("first")
    trained = gated.record_times()
    assert second.wait(timeout=300) == 0, gated.stderr("second")
    assert "2 trials, 0 already done, running 2" in gated.stderr("first")
    assert "2 trials, 2 already done, running 0" in gated.stderr("second")
    # no record was written again
    assert len(trained) == 2 and gated.record_times() == trained
    assert not (gated.run_dir / HOLDER_FILE).exists()


@pytest.mark.slow
def test_the_lock_is_released_when_its_holder_is_killed(gated):
    first = gated.start("first")
    gated.wait_until_held(first)
    gated.kill(first)
    gated.open_gate()
    code, stderr = gated.run("second")
    assert code == 0, stderr
    assert "2 trials, 0 already done, running 2" in stderr
    assert not (gated.run_dir / HOLDER_FILE).exists()


def free(run_dir: Path) -> bool:
    """Whether another holder could take the folder's lock now."""
    lock = FileLock(run_dir / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except TimeoutError:
        return False
    lock.release()
    return True


@pytest.mark.parametrize("ending", [RuntimeError, KeyboardInterrupt])
def test_the_lock_is_released_when_the_run_ends_in_an_exception(tmp_path, ending):
    with pytest.raises(ending), hold_run_folder(tmp_path / "run", wait=False, waiting=print):
        assert not free(tmp_path / "run")
        raise ending
    assert free(tmp_path / "run")
    assert not (tmp_path / "run" / HOLDER_FILE).exists()


def test_a_held_folder_is_refused_in_the_same_process_too(tmp_path):
    with hold_run_folder(tmp_path / "run", wait=False, waiting=print):
        holder = (tmp_path / "run" / HOLDER_FILE).read_text()
        assert f'"pid":{os.getpid()}' in holder
        with (
            pytest.raises(GenbenchError, match=f"process {os.getpid()} on "),
            hold_run_folder(tmp_path / "run", wait=False, waiting=print),
        ):
            pass
        assert (tmp_path / "run" / HOLDER_FILE).read_text() == holder


def test_a_folder_with_only_a_lock_left_is_still_empty(tmp_path, write_suite):
    """A run refused or killed before it wrote anything leaves the lock file: the folder is still
    one a run may use without --force."""
    run_dir = tmp_path / "run"
    with hold_run_folder(run_dir, wait=False, waiting=print):
        pass
    assert [path.name for path in run_dir.iterdir()] == [LOCK_FILE]
    suite = write_suite(
        TINY_SUITE.replace("steps: 40", "steps: 2").replace("eval_every: 20", "eval_every: 0")
    )
    assert run_dir_of(suite, run_dir, device="cpu", quiet=True, workers=1) == run_dir


def whole_figure(content: bytes, suffix: str) -> bool:
    """A PNG ends with its IEND chunk, an SVG with its closing tag."""
    return content.endswith(b"IEND\xaeB`\x82") if suffix == ".png" else content.rstrip().endswith(b"</svg>")


def test_a_report_read_while_it_is_rebuilt_shows_whole_figures(tmp_path):
    """What `genbench report` (which takes no lock) sees of a run's report while a run rebuilds it:
    every figure there and whole, at every moment of the rebuild."""
    trials = [trained("ns", "adam(lr=0.001)", seed, modes=8 - seed) for seed in range(2)]
    run_dir = write_trials_run(tmp_path / "run", trials, ["loss", "optimizer"])
    figures = build_report(run_dir).parent / "figures"
    names = sorted(path.name for path in figures.iterdir())
    assert names
    rebuild = threading.Thread(target=build_report, args=(run_dir,))
    rebuild.start()
    reads = 0
    while rebuild.is_alive() or reads == 0:
        for name in names:
            assert whole_figure((figures / name).read_bytes(), Path(name).suffix), name
        reads += 1
    rebuild.join()
    assert reads > 1
