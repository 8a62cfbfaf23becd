"""One worker per GPU: on a machine with N CUDA devices the local executor starts N workers, worker i
seeing only GPU i through CUDA_VISIBLE_DEVICES set before torch is imported in it; more workers share
the GPUs round robin; a user's own CUDA_VISIBLE_DEVICES is respected.

There is no GPU here: the main process's device count is faked, and a real spawned pool's workers
report what they see. A ``sitecustomize`` module on the workers' path watches imports, so a worker
also reports the CUDA_VISIBLE_DEVICES it had when torch was first imported in it.
"""

from __future__ import annotations

import multiprocessing
import textwrap

import pytest
import torch

from genbench.runner import choose_executor, executor_phrase, worker_count
from genbench.runner.executors.pool import ProcessPoolRunner
from genbench.runner.gpus import worker_gpus, workers_phrase


@pytest.fixture
def gpus(monkeypatch):
    """A machine with ``count`` GPUs, as torch.cuda.device_count() reports them (NVML honours
    CUDA_VISIBLE_DEVICES, so a faked count is what a user's setting leaves visible)."""

    def machine(count: int) -> None:
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return machine


def test_one_worker_per_gpu_by_default_each_on_its_own(gpus):
    gpus(3)
    assert worker_count("cuda", None, in_process=False) == 3
    assert worker_gpus("cuda", 3) == ["0", "1", "2"]


def test_more_workers_than_gpus_share_them_round_robin(gpus):
    gpus(2)
    assert worker_gpus("cuda", 5) == ["0", "1", "0", "1", "0"]


def test_workers_are_pinned_to_the_gpus_a_users_cuda_visible_devices_lists(gpus, monkeypatch):
    gpus(2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3, 5")
    assert worker_gpus("cuda", 3) == ["3", "5", "3"]
    uuids = "GPU-8f0a1c2e-0000-0000-0000-000000000001,GPU-8f0a1c2e-0000-0000-0000-000000000002"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", uuids)
    assert worker_gpus("cuda", 2) == uuids.split(",")


def test_the_cpu_and_a_named_gpu_are_not_pinned(gpus):
    gpus(4)
    assert worker_gpus("cpu", 2) == []
    assert worker_gpus("cuda:1", 2) == []
    assert worker_count("cuda:1", None, in_process=False) == 1


def test_the_header_line_names_the_workers_and_their_gpus(gpus):
    gpus(2)
    executor = choose_executor("cuda", workers=3, batches=10, in_process=False)
    assert isinstance(executor, ProcessPoolRunner) and executor.gpus == ["0", "1", "0"]
    assert executor_phrase(executor) == " with 3 workers on GPUs 0, 1, 0"
    # no more workers than batches, and so no more GPUs
    assert executor_phrase(choose_executor("cuda", workers=3, batches=1, in_process=False)) == (
        " with 1 worker on GPU 0"
    )
    assert workers_phrase(4, []) == "4 workers"


#: on the workers' path: records CUDA_VISIBLE_DEVICES at the moment torch is first imported
SITECUSTOMIZE = """
import os
import sys


class TorchImportWatch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and "GENBENCH_TEST_CUDA_AT_TORCH_IMPORT" not in os.environ:
            os.environ["GENBENCH_TEST_CUDA_AT_TORCH_IMPORT"] = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
        return None


sys.meta_path.insert(0, TorchImportWatch())
"""

PROBE = """
import os


def what_i_see(barrier):
    barrier.wait(timeout=120)  # every worker holds one probe: none takes two
    return os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("GENBENCH_TEST_CUDA_AT_TORCH_IMPORT")
"""


def test_spawned_workers_see_their_gpu_from_before_torch_is_imported(tmp_path, monkeypatch):
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    (tmp_path / "gpu_probe.py").write_text(textwrap.dedent(PROBE))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # spawned workers start with this environment
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    import gpu_probe

    runner = ProcessPoolRunner(3, threads_per_worker=1, gpus=["0", "1", "0"])
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, runner.start_pool(context, manager) as pool:
        barrier = manager.Barrier(3)
        seen = [
            future.result(timeout=180)
            for future in [pool.submit(gpu_probe.what_i_see, barrier) for _ in range(3)]
        ]
    assert sorted(seen) == [("0", "0"), ("0", "0"), ("1", "1")]
