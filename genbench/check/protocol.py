"""What a baseline pins: the protocol of a cell's trials, with the subject being checked left out.

A check asks whether the subject still measures as well as in the baseline *under the same
protocol*. The protocol is everything that decides how a number comes about: the dataset, the
model's settings, the objective, the optimizer, the training settings, the metrics and their
parameters, sample counts and seeds (a cell's seeds share everything else, so they are compared
beside it). The subject is what the check is about: for a ``pretrained`` model, its weights file
(``path`` and ``sha256``). Trial ids hash both, so that a resumed run never reuses a result of other
weights; a baseline compares protocols instead, so that new weights at the same path are checked
against the old ones rather than refused as "another suite".

File locations are no part of a protocol either: every path a suite names is made absolute when the
suite is validated (``genbench.settings.suite_relative``), so the same suite in two checkouts has two
sets of paths. A location is kept as a marker (a file was named there, which is part of the
protocol); where a file's content decides a number, the metric's own protocol records its sha256
(feature extractor weights), and a dataset folder is trusted like the data in it. Torch-free.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from genbench.replicates import SEED_KEY
from genbench.spec import PRETRAINED_MODEL

#: the parameters of a ``pretrained`` model that identify the weights being checked
SUBJECT_PARAMS = ("path", "sha256")
#: stands for a file's location in a protocol
LOCATION = "<file>"
#: longest value echoed in a description of a change
MAX_ECHOED = 60


def weights_sha256(spec: dict[str, Any]) -> str | None:
    """The subject of a trial: the sha256 of its pretrained weights; None for a model it trains.
    ``spec`` is a record's ``spec``: the resolved ``TrialSpec`` as JSON."""
    model = spec.get("model") or {}
    return model["params"]["sha256"] if model.get("name") == PRETRAINED_MODEL else None


def spec_protocol(spec: dict[str, Any]) -> dict[str, Any]:
    """The trial's spec without its seed, its subject and file locations: what every seed of a cell
    shares, and what a baseline's cell must share with a run's for the two to be compared."""
    protocol = {key: value for key, value in spec.items() if key != SEED_KEY}
    model = spec.get("model") or {}
    if model.get("name") == PRETRAINED_MODEL:
        params = {key: value for key, value in model["params"].items() if key not in SUBJECT_PARAMS}
        protocol["model"] = {**model, "params": params}
    return without_locations(protocol)


def without_locations(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_locations(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_locations(item) for item in value]
    return LOCATION if isinstance(value, str) and is_absolute_path(value) else value


def is_absolute_path(text: str) -> bool:
    """Absolute on the machine that wrote the record, whichever kind of machine that was."""
    return PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute()


def protocol_changes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """``dotted.key old -> new`` for every setting that differs between two cell protocols."""
    old, new = flatten(before), flatten(now)
    return [
        f"{key} {echo(old, key)} -> {echo(new, key)}"
        for key in sorted(set(old) | set(new))
        if key not in old or key not in new or old[key] != new[key]
    ]


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested settings as ``{"train.steps": 800, "metrics.0.name": "modes"}``."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    flat: dict[str, Any] = {}
    for key, item in items:
        if isinstance(item, dict | list) and item:
            flat.update(flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def echo(values: dict[str, Any], key: str) -> str:
    return echo_value(values[key]) if key in values else "(unset)"


def echo_value(value: Any) -> str:
    """A value as JSON, cut short so that a message stays readable."""
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_ECHOED else text[: MAX_ECHOED - 3] + "..."
