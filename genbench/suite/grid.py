"""The grid: a suite's varied settings, expanded into the raw trials of its cross product.

A grid's keys are dotted paths into a trial (``loss``, ``optimizer.lr``, ``model.params.hidden``),
or several joined by ``+`` that vary together (``model+loss``: a model with the loss that fits it).
The cross product of the values gives the trials, in the order the keys are written; each trial
carries a short label of every grid value and the value's flattened columns, which name it in
results and reports (a list of remedies reads ``none``, ``ema``, ``ema+instance_noise``). Here the
values are still as the file wrote them: the loader validates the trials they make.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from genbench.settings import short
from genbench.spec import ComponentSpec
from genbench.suite.paths import Path_, SuiteProblem

TRIAL_KEYS = ("dataset", "model", "loss", "penalty", "optimizer", "train", "metrics", "seed", "remedies")
#: trial keys whose value names a component: a name, or ``{name: ..., params: {...}}``
NAMED_KEYS = ("dataset", "model", "loss", "penalty", "optimizer")
#: trial keys whose value is a list of components applied together, labelled ``a+b`` (``none``
#: when empty)
COMBINED_KEYS = ("remedies",)
#: the component written flat, its settings beside its name: ``{name: adam, lr: 0.001}``
FLAT_NAMED_KEY = "optimizer"


@dataclass(frozen=True)
class GridPoint:
    """One trial of the cross product, before validation."""

    #: the base trial with this point's grid values set
    raw: dict[str, Any]
    #: trial path -> file path of the grid value set there, so errors point at the value's line
    origins: dict[Path_, Path_]
    #: grid path -> short readable label of its value
    labels: dict[str, str]
    #: flattened columns of the mapping values, e.g. ``optimizer.lr``
    columns: dict[str, Any]


def read_grid(raw: Any) -> dict[str, list[Any]]:
    """The grid's keys and values. A key ``a+b`` varies several paths together: each of its
    values is a list with one value per path (e.g. a model with the loss that fits it)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SuiteProblem(("grid",), "expected a mapping from dotted keys to lists of values")
    for key, values in raw.items():
        paths = zipped_paths(str(key))
        for path in paths:
            if path.split(".")[0] not in TRIAL_KEYS:
                raise SuiteProblem(
                    ("grid", key),
                    f"'{short(path)}' is not a path into a trial; it must start with one of: "
                    + ", ".join(TRIAL_KEYS),
                )
        if not isinstance(values, list) or not values:
            raise SuiteProblem(("grid", key), "expected a non-empty list of values")
        if len(paths) > 1:
            for index, value in enumerate(values):
                if not isinstance(value, list) or len(value) != len(paths):
                    raise SuiteProblem(
                        ("grid", key, index),
                        f"expected a list of {len(paths)} values, one for each of: {', '.join(paths)}",
                    )
    return {str(key): values for key, values in raw.items()}


def check_trial_count(grid: dict[str, list[Any]], max_trials: int) -> None:
    """Count the grid's trials before expanding them: a list too many would take minutes and
    gigabytes to expand, and a study that large is a typo more often than a plan."""
    count = math.prod(len(values) for values in grid.values())
    if count > max_trials:
        sizes = short(" x ".join(f"{len(values)} ({key})" for key, values in grid.items()))
        raise SuiteProblem(
            ("grid",),
            f"the grid expands to {count:,} trials ({sizes}), more than the limit of "
            f"{max_trials:,}; shrink the grid, or raise the limit with --max-trials {count}",
        )


def grid_points(base: dict[str, Any], grid: dict[str, list[Any]]) -> Iterator[GridPoint]:
    """The cross product of the grid's values, each set into a copy of the base trial."""
    keys = list(grid)
    for indices in itertools.product(*(range(len(grid[key])) for key in keys)):
        raw = copy.deepcopy(base)
        origins: dict[Path_, Path_] = {}
        labels, columns = {}, {}
        for key, index in zip(keys, indices, strict=True):
            paths = zipped_paths(key)
            values = grid[key][index] if len(paths) > 1 else [grid[key][index]]
            for position, (path, value) in enumerate(zip(paths, values, strict=True)):
                trial_path = tuple(path.split("."))
                set_path(raw, trial_path, copy.deepcopy(value))
                origin = ("grid", key, index, position) if len(paths) > 1 else ("grid", key, index)
                origins[trial_path] = origin
                labels[path] = label(written_component(path, value))
                columns.update(flatten(path, value))
        yield GridPoint(raw=raw, origins=origins, labels=labels, columns=columns)


def zipped_paths(key: str) -> list[str]:
    """``model+loss`` -> ["model", "loss"]; a plain key is one path."""
    return [path.strip() for path in key.split("+")]


def set_path(raw: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``raw[a][b][c] = value`` for path (a, b, c), expanding a component's name shorthand."""
    node = raw
    for key in path[:-1]:
        child = node.get(key)
        if isinstance(child, str):
            child = {"name": child}
        elif not isinstance(child, dict):
            child = {}
        node[key] = child
        node = child
    node[path[-1]] = value


@dataclass(frozen=True)
class Combination:
    """A grid value that lists components applied together (remedies), as written."""

    components: tuple[Any, ...]


def written_component(path: str, value: Any) -> Any:
    """A grid value that names a whole component, as a ``ComponentSpec`` of the parameters the
    suite wrote: ``hinge``, ``{name: wgan-gp, params: {...}}`` and the optimizer's flat
    ``{name: adam, lr: ...}`` alike; a list of remedies as a ``Combination`` of them. Any other
    value is returned as written (a malformed component too: the loader reports it when it
    validates the trial)."""
    if path in COMBINED_KEYS and isinstance(value, list):
        return Combination(tuple(component_as_written(item, flat=False) for item in value))
    if path not in NAMED_KEYS:
        return value
    return component_as_written(value, flat=path == FLAT_NAMED_KEY)


def component_as_written(value: Any, flat: bool) -> Any:
    """``value`` as a ``ComponentSpec`` when it names a component (``flat``: its settings beside
    its name, as the optimizer's), else as written."""
    if isinstance(value, str):
        return ComponentSpec.model_construct(name=value, params={})
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return value
    if flat:
        params = {key: item for key, item in value.items() if key != "name"}
    else:
        params = value.get("params") or {}
    if not isinstance(params, dict):
        return value
    # not validated here: defaults are left out of labels, and errors are the loader's to report
    return ComponentSpec.model_construct(name=value["name"], params=params)


def label(value: Any) -> str:
    """A short readable label: ``hinge``, ``0.0002``, ``wgan-gp(gp_weight=1.0)``; a mapping is
    labelled by its ``name`` with its other entries in parentheses, a combination by its
    components' labels joined with ``+`` (``none`` when it is empty)."""
    if isinstance(value, Combination):
        return "+".join(label(component) for component in value.components) or "none"
    if isinstance(value, ComponentSpec):
        # every parameter is shown, one called "name" too (torchvision's dataset class): two
        # datasets differing only in it must not share a label, or a report would pool them
        inner = ", ".join(f"{key}={label(item)}" for key, item in value.params.items())
        return f"{value.name}({inner})" if inner else value.name
    if isinstance(value, dict):
        inner = ", ".join(f"{key}={label(item)}" for key, item in value.items() if key != "name")
        name = value.get("name", "")
        return f"{name}({inner})" if inner else str(name)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(label(item) for item in value) + "]"
    return str(value)


def flatten(key: str, value: Any) -> dict[str, Any]:
    """Flattened columns of a mapping grid value: ``optimizer.name``, ``optimizer.lr``, ..."""
    if not isinstance(value, dict):
        return {}
    columns: dict[str, Any] = {}
    for name, item in value.items():
        if isinstance(item, dict):
            columns.update(flatten(f"{key}.{name}", item) or {f"{key}.{name}": label(item)})
        elif isinstance(item, list | tuple):
            columns[f"{key}.{name}"] = label(item)
        else:
            columns[f"{key}.{name}"] = item
    return columns
