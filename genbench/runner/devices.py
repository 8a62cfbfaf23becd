"""The device a trial runs on, from the name a user gives (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

Workers resolve it themselves (``genbench.runner.batch``): on a cluster the submitting host may
have no GPU while the node that runs the trial has one, so ``auto`` means the worker's device.
"""

from __future__ import annotations

from genbench.errors import GenbenchError

DEVICES = ("auto", "cpu", "cuda")


def check_device_name(device: str) -> str:
    """``device`` when it names a device (on any machine: nothing is looked up here)."""
    if device not in DEVICES and not device.startswith("cuda:"):
        raise GenbenchError(f"unknown device '{device}'; allowed: {', '.join(DEVICES)} or cuda:N")
    return device


def resolve_device(device: str) -> str:
    """The device this machine runs ``device`` on: ``auto`` is CUDA where torch sees it."""
    import torch

    check_device_name(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GenbenchError("--device cuda was asked for, but torch sees no CUDA device; use --device cpu")
    return device
