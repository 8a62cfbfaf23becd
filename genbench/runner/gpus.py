"""One worker per GPU: which GPU each worker process of the local executor sees.

On a machine with N CUDA devices and the device ``cuda`` (``auto`` resolves to it), the local
executor starts N workers by default, worker i pinned to the i-th GPU through ``CUDA_VISIBLE_DEVICES``,
set in the worker before torch is imported there (CUDA reads it once, when it starts). A worker then
sees its GPU as ``cuda:0``, so a trial's code needs no device index, and two workers never share a
GPU's memory unless asked. More workers than GPUs (``--workers``) share them round robin. A user's
own ``CUDA_VISIBLE_DEVICES`` is respected: workers are pinned to the ids (or UUIDs) it lists. The
device ``cuda:N`` names one GPU for every trial: its workers are not pinned.
"""

from __future__ import annotations

import os

CUDA_VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` names them to a child process.

    Counted with ``torch.cuda.device_count()``, which asks NVML (and honours
    ``CUDA_VISIBLE_DEVICES``) before CUDA is initialised: it creates no CUDA context in this
    process, which trains nothing and must not hold memory on every GPU."""
    import torch

    count = torch.cuda.device_count()
    listed = os.environ.get(CUDA_VISIBLE_DEVICES)
    if listed is None:
        return [str(index) for index in range(count)]
    return [entry.strip() for entry in listed.split(",")][:count]


def default_gpu_workers(device: str) -> int:
    """One worker per visible GPU for the device ``cuda``; one for ``cuda:N``."""
    return max(1, len(visible_gpus())) if device == "cuda" else 1


def worker_gpus(device: str, workers: int) -> list[str]:
    """The GPU of each of ``workers`` workers, round robin; empty when they are not pinned (the CPU,
    ``cuda:N``)."""
    gpus = visible_gpus() if device == "cuda" else []
    return [gpus[index % len(gpus)] for index in range(workers)] if gpus else []


def pin_to_gpu(gpu: str | None) -> None:
    """In a new worker process, before torch is imported: see only ``gpu`` (None: leave as is)."""
    if gpu is not None:
        os.environ[CUDA_VISIBLE_DEVICES] = gpu


def workers_phrase(workers: int, gpus: list[str]) -> str:
    """``2 workers on GPUs 0, 1``, for the run's header line."""
    phrase = f"{workers} worker{'s' if workers != 1 else ''}"
    if gpus:
        phrase += f" on GPU{'s' if len(gpus) > 1 else ''} {', '.join(gpus)}"
    return phrase
