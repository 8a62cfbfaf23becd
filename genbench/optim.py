"""Named optimizers with per-network settings (two time-scale learning rates, Heusel et al. 2017).

A suite writes ``{name: adam, lr: 2.0e-4, betas: [0.5, 0.999]}``; ``g_lr`` / ``d_lr`` override ``lr``
for the generator / discriminator. The registry's targets are torch.optim classes, imported only
when a trial is built, so this module stays torch-free.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field

from genbench.settings import StrictModel

PER_NETWORK_KEYS = ("g_lr", "d_lr")


class OptimizerParams(StrictModel):
    lr: float = Field(2e-4, gt=0, description="learning rate of both networks")
    g_lr: float | None = Field(None, gt=0, description="generator learning rate (overrides lr)")
    d_lr: float | None = Field(None, gt=0, description="discriminator learning rate (overrides lr)")
    weight_decay: float = Field(0.0, ge=0)


class AdamParams(OptimizerParams):
    betas: tuple[float, float] = Field((0.5, 0.999), description="GAN practice: beta1 = 0.5 (DCGAN)")
    eps: float = Field(1e-8, gt=0)


class AdamWParams(AdamParams):
    weight_decay: float = Field(0.01, ge=0, description="decoupled weight decay (Loshchilov & Hutter)")


class RmspropParams(OptimizerParams):
    alpha: float = Field(0.99, gt=0, lt=1, description="smoothing constant of the squared gradient")
    momentum: float = Field(0.0, ge=0)
    eps: float = Field(1e-8, gt=0)


class SgdParams(OptimizerParams):
    momentum: float = Field(0.9, ge=0)
    nesterov: bool = False


def optimizer_kwargs(params: dict[str, Any], network: str) -> dict[str, Any]:
    """Keyword arguments of the torch optimizer for ``network`` ('generator' or 'discriminator')."""
    kwargs = {key: value for key, value in params.items() if key not in PER_NETWORK_KEYS}
    override = params.get("g_lr" if network == "generator" else "d_lr")
    if override is not None:
        kwargs["lr"] = override
    return kwargs


def build_optimizer(name: str, params: dict[str, Any], network: str, parameters: Iterable[Any]) -> Any:
    """The registered torch optimizer ``name`` over ``parameters`` with ``network``'s settings."""
    from genbench.catalog import OPTIMIZERS

    optimizer_class = OPTIMIZERS.get(name).load()
    return optimizer_class(parameters, **optimizer_kwargs(params, network))
