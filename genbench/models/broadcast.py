"""Broadcasting a module's own parameter over an input that may carry an ensemble's member dim."""

from __future__ import annotations

import torch


def member_view(parameter: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """``parameter`` broadcastable against ``inputs``: a parameter stacked for an ensemble
    ([E], genbench.models.stacking) gets singleton dims after its member dim; an ordinary scalar
    is returned as it is."""
    if parameter.dim() == 0:
        return parameter
    return parameter.reshape(parameter.shape[0], *(1,) * (inputs.dim() - 1))
