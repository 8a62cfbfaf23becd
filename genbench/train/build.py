"""Build the parts of one trial (data, networks, objective, metrics) from its resolved spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genbench.catalog import DATASETS, LOSSES, METRICS, MODELS, PENALTIES
from genbench.errors import GenbenchError
from genbench.losses.gan import GanLoss
from genbench.losses.vae import VaeObjective
from genbench.metrics.base import Metric
from genbench.models.parts import GanParts, VaeParts
from genbench.registry import Registry, import_object, is_user_reference
from genbench.spec import ComponentSpec, TrialSpec


def build_component(spec: ComponentSpec, registry: Registry, *args: Any) -> Any:
    """Call the registered factory (or the user's ``package.module:factory``) with the params."""
    factory = import_object(spec.name) if is_user_reference(spec.name) else registry.get(spec.name).load()
    try:
        return factory(*args, **spec.params)
    except TypeError as error:
        raise GenbenchError(f"{registry.kind} '{spec.name}' rejected its parameters: {error}") from error


@dataclass
class TrialParts:
    dataset: Any
    networks: GanParts | VaeParts
    loss: GanLoss | VaeObjective | None
    penalty: Any | None
    metrics: dict[str, Metric]


def build_trial_parts(spec: TrialSpec) -> TrialParts:
    """Build everything on the CPU with the global RNG seeded by the caller (initial weights)."""
    dataset = build_component(spec.dataset, DATASETS)
    networks = build_component(spec.model, MODELS, tuple(dataset.shape))
    if not isinstance(networks, GanParts | VaeParts):
        raise GenbenchError(
            f"model '{spec.model.name}' must return GanParts or VaeParts, got {type(networks).__name__}"
        )
    loss = build_component(spec.loss, LOSSES) if spec.loss else None
    if loss is not None and not isinstance(loss, GanLoss | VaeObjective):
        raise GenbenchError(
            f"loss '{spec.loss.name}' must return a GanLoss or a VaeObjective, got {type(loss).__name__}"
        )
    penalty = build_component(spec.penalty, PENALTIES) if spec.penalty else None
    metrics = {metric.name: build_component(metric, METRICS) for metric in spec.metrics}
    return TrialParts(dataset, networks, loss, penalty, metrics)
