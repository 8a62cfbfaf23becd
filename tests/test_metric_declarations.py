"""Each fact about a metric is stated once: its catalog entry declares the keys it writes, with a
direction (or an explicit none), a label and a meaning; every built-in metric writes exactly those
keys; and the defaults of every built-in component live in its parameter model alone."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
import torch

from genbench.catalog import (
    DATASETS,
    HIGHER_IS_BETTER,
    LOSSES,
    METRICS,
    MODELS,
    OUTPUTS,
    PENALTIES,
    TIMINGS,
)
from genbench.metrics.feature_cache import CACHE_ENV
from genbench.registry import Direction, Output, Registry

from .components import built

#: the keys declared to have no better direction, each for a stated reason
#: spreads, the posterior's KL, and the steps before throughput was timed (a setting's effect)
#: the Dirac-GAN's theta and psi: only their distance to the equilibrium ranks
WITHOUT_DIRECTION = {"heldout_kl", "isc_std", "kid_std", "warmup_steps", "theta", "psi"}


@pytest.fixture(autouse=True)
def feature_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))


def rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def on_ring() -> tuple[torch.Tensor, torch.Tensor, Any, dict[str, Any]]:
    ring = built(DATASETS, "ring8")
    return ring.sample(200, rng(1)), ring.sample(200, rng(2)), ring, {}


def on_digits() -> tuple[torch.Tensor, torch.Tensor, Any, dict[str, Any]]:
    digits = built(DATASETS, "digits")
    return digits.sample(40, rng(1)), digits.reference(40, rng(2)), digits, {}


def on_stacked_digits() -> tuple[torch.Tensor, torch.Tensor, Any, dict[str, Any]]:
    stacked = built(DATASETS, "stacked_digits")
    return stacked.sample(20, rng(1)), stacked.reference(20, rng(2)), stacked, {}


def on_a_vae() -> tuple[torch.Tensor, torch.Tensor, Any, dict[str, Any]]:
    digits = built(DATASETS, "digits")
    torch.manual_seed(0)
    vae = built(MODELS, "vae_mlp", digits.shape, latent_dim=4, hidden=16, depth=1)
    reference = digits.reference(16, rng(2))
    return reference, reference, digits, {"networks": vae}


#: small inputs each built-in metric can measure: (generated, reference, dataset, keyword arguments)
INPUTS: dict[str, Callable[[], tuple[torch.Tensor, torch.Tensor, Any, dict[str, Any]]]] = {
    "modes": on_ring,
    "prdc": on_ring,
    "fid": on_digits,
    "isc": on_digits,
    "kid": on_digits,
    "prc": on_digits,
    "stacked_modes": on_stacked_digits,
    "vae": on_a_vae,
    "iwae": on_a_vae,
}


@pytest.mark.parametrize("name", METRICS.names())
def test_every_registered_metric_writes_exactly_the_keys_it_declares(name):
    if name not in INPUTS:
        pytest.fail(f"metric '{name}' has no small inputs in INPUTS: add some, so its keys are checked")
    generated, reference, dataset, keywords = INPUTS[name]()
    values = built(METRICS, name)(generated, reference, dataset, **keywords).values
    assert sorted(values) == sorted(output.key for output in METRICS.get(name).outputs)


def test_every_declared_key_has_a_direction_a_label_and_a_meaning():
    for output in OUTPUTS.values():
        assert isinstance(output.direction, Direction), output.key
        assert output.label and output.meaning, output.key


def test_only_spreads_and_the_posterior_kl_are_declared_without_a_direction():
    none = {key for key, output in OUTPUTS.items() if output.direction is Direction.NONE}
    assert none == WITHOUT_DIRECTION
    for key in WITHOUT_DIRECTION:
        assert "no better direction" in OUTPUTS[key].meaning


def test_higher_is_better_holds_every_key_with_a_direction_and_no_other():
    assert set(HIGHER_IS_BETTER) == set(OUTPUTS) - WITHOUT_DIRECTION
    assert HIGHER_IS_BETTER["modes_covered"] and HIGHER_IS_BETTER["samples_per_second"]
    assert not HIGHER_IS_BETTER["fid"] and not HIGHER_IS_BETTER["train_seconds"]


def test_timings_are_declared_beside_the_metrics_keys():
    assert {output.key for output in TIMINGS} <= set(OUTPUTS)


def test_a_key_written_by_two_metrics_must_be_declared_the_same_by_both():
    registry = Registry("metric")
    registry.register("a", "m:A", "", outputs=(Output("score", Direction.HIGHER, "score", "a score"),))
    registry.register("b", "m:B", "", outputs=(Output("score", Direction.LOWER, "score", "a score"),))
    with pytest.raises(ValueError, match="'score' is declared twice, differently"):
        registry.outputs()


BUILT_IN = [
    (registry, entry.name)
    for registry in (DATASETS, MODELS, LOSSES, PENALTIES, METRICS)
    for entry in registry.entries()
]


@pytest.mark.parametrize(
    ("registry", "name"), BUILT_IN, ids=[f"{registry.kind}:{name}" for registry, name in BUILT_IN]
)
def test_a_built_in_factory_takes_its_parameter_models_fields_without_defaults(registry, name):
    """The parameter model holds the defaults; a factory that stated its own could drift from them."""
    entry = registry.get(name)
    parameters = list(inspect.signature(entry.load()).parameters.values())
    if registry is MODELS:
        parameters = parameters[1:]  # the data shape
    assert [p.name for p in parameters if p.default is not inspect.Parameter.empty] == []
    named = {p.name for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD}
    fields = set(entry.params_model().model_fields)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        assert named <= fields  # the rest pass through, e.g. a fidelity metric's feature space
    else:
        assert named == fields
