"""Loaders of saved generators, so a suite can evaluate models it did not train (or trained in
another run).

``export`` (``torch.export.save``) is the recommended format: TorchScript is deprecated in current
PyTorch. A ``state_dict`` is loaded with ``torch.load(weights_only=True)`` into the module that the
user's factory builds, so nothing is ever unpickled as arbitrary objects.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from genbench.errors import GenbenchError
from genbench.models.checkpoint import load_checkpoint
from genbench.models.parts import GanParts
from genbench.registry import import_object
from genbench.weights_files import weights_only_reason


class ExportedGenerator(nn.Module):
    """An exported program as a module. Its train/eval behaviour was fixed when it was exported
    (exported modules refuse ``eval()``), so switching modes here only sets the flag."""

    def __init__(self, program: torch.export.ExportedProgram) -> None:
        super().__init__()
        self.program = program.module()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.program(z)

    def train(self, mode: bool = True) -> ExportedGenerator:
        self.training = mode
        return self


def load_export(path: str, factory: str | None, factory_kwargs: dict[str, Any]) -> nn.Module:
    return ExportedGenerator(torch.export.load(path))


def load_torchscript(path: str, factory: str | None, factory_kwargs: dict[str, Any]) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(path, map_location="cpu")


def load_state_dict(path: str, factory: str | None, factory_kwargs: dict[str, Any]) -> nn.Module:
    module = import_object(factory)(**factory_kwargs)
    state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        module.load_state_dict(state)
    except (RuntimeError, TypeError) as mismatch:
        raise GenbenchError(f"{path} does not fit the module built by {factory}: {mismatch}") from None
    return module


GENERATOR_LOADERS: dict[str, Callable[[str, str | None, dict[str, Any]], nn.Module]] = {
    "export": load_export,
    "torchscript": load_torchscript,
    "state_dict": load_state_dict,
}


def load_pretrained(
    data_shape: tuple[int, ...],
    format: str,
    path: str,
    latent_dim: int | None,
    factory: str | None,
    factory_kwargs: dict[str, Any],
    sha256: str | None,
) -> Any:
    """A saved generator mapping z of shape (N, latent_dim) to samples, evaluated untrained.

    ``checkpoint`` rebuilds the model a genbench run trained, networks and all.
    """
    if format == "checkpoint":
        return load_checkpoint(path, data_shape)
    try:
        generator = GENERATOR_LOADERS[format](path, factory, factory_kwargs)
    except GenbenchError:
        raise
    except Exception as error:
        raise GenbenchError(
            f"cannot load the {format} generator at {path}: {weights_only_reason(error)}"
        ) from error
    return GanParts(generator=generator, discriminator=None, latent_dim=latent_dim)
