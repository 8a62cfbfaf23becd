"""Suites: YAML files that declare a whole study, validated and expanded into frozen trials.

A suite states the base trial (dataset, model, loss, optimizer, training, metrics, seed) and a
``grid`` whose keys are dotted paths into the trial (``loss``, ``optimizer``, ``seed``,
``model.params.hidden``); the cross product of the grid's lists gives the trials, in the order the
keys are written. Every value is checked against the registries and their parameter models before
anything trains, and every error names the file, the line and the key. Each trial is fully resolved
(defaults filled in) and identified by a hash of its content, so a finished trial is never redone
and a changed trial never reuses a stale result. Torch-free.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from genbench.catalog import DATASETS, LOSSES, METRICS, MODELS, OPTIMIZERS, PENALTIES
from genbench.errors import GenbenchError, SuiteError
from genbench.registry import Registry, is_user_reference
from genbench.settings import CheckSettings, ReportSettings, StrictModel

#: bump when the meaning of a spec changes (training or evaluation semantics), so that results
#: computed under the old meaning get other ids and are never reused
SPEC_VERSION = 1

Path_ = tuple[str | int, ...]

PRETRAINED_MODEL = "pretrained"


class ComponentSpec(StrictModel):
    """A registry name (or ``package.module:factory``) with its resolved parameters."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class TrainSpec(StrictModel):
    steps: int = Field(2000, ge=0, description="generator updates; 0 only evaluates")
    batch_size: int = Field(256, ge=1, description="real and fake samples per update")
    d_steps: int = Field(1, ge=1, description="discriminator updates per generator update")
    eval_every: int = Field(500, ge=0, description="generator updates between evaluations; 0: end only")
    eval_samples: int = Field(2500, ge=1, description="generated samples per evaluation")
    reference_samples: int | None = Field(
        None, ge=1, description="real samples per evaluation (default: eval_samples)"
    )


class TrialSpec(StrictModel):
    """One fully resolved trial: everything that determines its result, and nothing else."""

    dataset: ComponentSpec
    model: ComponentSpec
    loss: ComponentSpec | None = None
    penalty: ComponentSpec | None = None
    optimizer: ComponentSpec | None = None
    train: TrainSpec
    metrics: tuple[ComponentSpec, ...]
    seed: int

    @property
    def trains(self) -> bool:
        return self.train.steps > 0

    def trial_id(self) -> str:
        content = json.dumps(
            {"spec_version": SPEC_VERSION, "spec": self.model_dump(mode="json")}, sort_keys=True
        )
        return hashlib.sha256(content.encode()).hexdigest()[:12]


class Trial(StrictModel):
    id: str
    spec: TrialSpec
    grid: dict[str, str] = Field(description="grid key -> short readable label of its value")
    grid_columns: dict[str, Any] = Field(description="flattened grid values, e.g. optimizer.lr")


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    path: Path
    text: str
    grid_keys: tuple[str, ...]
    trials: tuple[Trial, ...]
    report: ReportSettings = field(default_factory=ReportSettings)
    check: CheckSettings = field(default_factory=CheckSettings)

    @property
    def content_hash(self) -> str:
        """Hash of what the suite runs (its trials), blind to comments and formatting."""
        content = json.dumps({"name": self.name, "trials": sorted(t.id for t in self.trials)})
        return hashlib.sha256(content.encode()).hexdigest()[:16]


class SuiteHeader(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="used as a folder name")
    description: str = ""


TRIAL_KEYS = ("dataset", "model", "loss", "penalty", "optimizer", "train", "metrics", "seed")
SUITE_KEYS = ("name", "description", *TRIAL_KEYS, "grid", "report", "check")
REQUIRED_KEYS = ("name", "dataset", "model", "metrics")


def load_suite(path: Path | str) -> Suite:
    """Read, validate and expand a suite file; raises SuiteError naming file, line and key."""
    path = Path(path)
    if not path.is_file():
        raise GenbenchError(f"no suite file at {path}")
    return SuiteLoader(path, path.read_text()).load()


class SuiteLoader:
    """Validates one suite file, keeping the line of every key so errors can point at it."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self.lines: dict[Path_, int] = {}
        #: trial path -> file path of the grid value substituted there, for the trial at hand
        self.origins: dict[Path_, Path_] = {}

    # -- errors -----------------------------------------------------------------------------

    def error(self, trial_path: Path_, problem: str) -> SuiteError:
        source = trial_path
        for length in range(len(trial_path), 0, -1):
            if trial_path[:length] in self.origins:
                source = self.origins[trial_path[:length]] + trial_path[length:]
                break
        line = None
        for length in range(len(source), -1, -1):
            if source[:length] in self.lines:
                line = self.lines[source[:length]]
                break
        return SuiteError(str(self.path), line, dotted(source) or "(top level)", problem)

    def validate_model(
        self, model: type[BaseModel], raw: Any, path: Path_, context: dict[str, Any] | None = None
    ) -> BaseModel:
        allowed = ", ".join(model.model_fields)
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise self.error(path, f"expected a mapping with keys from: {allowed}; got {raw!r}")
        for key in raw:
            if key not in model.model_fields:
                raise self.error((*path, key), f"unknown key '{key}'; allowed keys: {allowed}")
        try:
            return model.model_validate(raw, context=context)
        except ValidationError as invalid:
            first = invalid.errors()[0]
            problem = first["msg"]
            if first["type"] != "missing" and first["loc"]:
                problem += f" (got {first['input']!r})"
            raise self.error((*path, *first["loc"]), problem) from None

    # -- parsing ----------------------------------------------------------------------------

    def parse(self) -> dict[str, Any]:
        try:
            root = yaml.compose(self.text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(self.text)
        except yaml.YAMLError as invalid:
            mark = getattr(invalid, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise SuiteError(str(self.path), line, "(yaml)", f"not valid YAML: {invalid}") from None
        if root is not None:
            self.record_lines(root, ())
        if not isinstance(data, dict):
            raise self.error((), "a suite must be a mapping with keys: " + ", ".join(SUITE_KEYS))
        return data

    def record_lines(self, node: yaml.Node, path: Path_) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    raise SuiteError(
                        str(self.path), key_node.start_mark.line + 1, dotted((*path, key)), "duplicate key"
                    )
                seen.add(key)
                self.record_lines(value_node, (*path, key))
                self.lines[(*path, key)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.record_lines(item, (*path, index))

    # -- the suite --------------------------------------------------------------------------

    def load(self) -> Suite:
        data = self.parse()
        for key in data:
            if key not in SUITE_KEYS:
                raise self.error((key,), f"unknown key '{key}'; allowed keys: {', '.join(SUITE_KEYS)}")
        for key in REQUIRED_KEYS:
            if key not in data:
                raise self.error((), f"missing required key '{key}'")
        header = self.validate_model(
            SuiteHeader, {"name": data["name"], "description": data.get("description", "")}, ()
        )
        report = self.validate_model(ReportSettings, data.get("report"), ("report",))
        check = self.validate_model(CheckSettings, data.get("check"), ("check",))
        grid = self.grid(data.get("grid"))
        grid_keys = [path for key in grid for path in zipped_paths(key)]
        self.check_report_keys(report, grid_keys)
        base = {key: data[key] for key in TRIAL_KEYS if key in data}
        trials = self.expand(base, grid)
        return Suite(
            name=header.name,
            description=header.description.strip(),
            path=self.path,
            text=self.text,
            grid_keys=tuple(grid_keys),
            trials=tuple(trials),
            report=report,
            check=check,
        )

    def grid(self, raw: Any) -> dict[str, list[Any]]:
        """The grid's keys and values. A key ``a+b`` varies several paths together: each of its
        values is a list with one value per path (e.g. a model with the loss that fits it)."""
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.error(("grid",), "expected a mapping from dotted keys to lists of values")
        for key, values in raw.items():
            paths = zipped_paths(str(key))
            for path in paths:
                if path.split(".")[0] not in TRIAL_KEYS:
                    raise self.error(
                        ("grid", key),
                        f"'{path}' is not a path into a trial; it must start with one of: "
                        + ", ".join(TRIAL_KEYS),
                    )
            if not isinstance(values, list) or not values:
                raise self.error(("grid", key), "expected a non-empty list of values")
            if len(paths) > 1:
                for index, value in enumerate(values):
                    if not isinstance(value, list) or len(value) != len(paths):
                        raise self.error(
                            ("grid", key, index),
                            f"expected a list of {len(paths)} values, one for each of: {', '.join(paths)}",
                        )
        return {str(key): values for key, values in raw.items()}

    def check_report_keys(self, report: ReportSettings, grid_keys: list[str]) -> None:
        """Report settings name grid keys; check them now rather than after hours of training."""
        named = {"heatmap": list(report.heatmap or ()), "group_by": list(report.group_by or ())}
        for setting, keys in named.items():
            for index, key in enumerate(keys):
                # a flattened column of a mapping grid value (optimizer.name) counts as its key
                if not any(key == grid_key or key.startswith(f"{grid_key}.") for grid_key in grid_keys):
                    raise self.error(
                        ("report", setting, index),
                        f"'{key}' is not a grid key; grid keys: {', '.join(grid_keys) or '(no grid)'}",
                    )

    def expand(self, base: dict[str, Any], grid: dict[str, list[Any]]) -> list[Trial]:
        trials: dict[str, Trial] = {}
        keys = list(grid)
        for indices in itertools.product(*(range(len(grid[key])) for key in keys)):
            raw = copy.deepcopy(base)
            self.origins = {}
            labels, columns = {}, {}
            for key, index in zip(keys, indices, strict=True):
                paths = zipped_paths(key)
                values = grid[key][index] if len(paths) > 1 else [grid[key][index]]
                for position, (path, value) in enumerate(zip(paths, values, strict=True)):
                    trial_path = tuple(path.split("."))
                    set_path(raw, trial_path, copy.deepcopy(value))
                    origin = ("grid", key, index, position) if len(paths) > 1 else ("grid", key, index)
                    self.origins[trial_path] = origin
                    labels[path] = label(value)
                    columns.update(flatten(path, value))
            spec = self.resolve_trial(raw)
            trial = Trial(id=spec.trial_id(), spec=spec, grid=labels, grid_columns=columns)
            if trial.id in trials:
                raise self.error(
                    ("grid",),
                    f"the grid gives the same trial twice ({labels} and {trials[trial.id].grid}); "
                    "remove the repeated value",
                )
            trials[trial.id] = trial
        self.origins = {}
        return list(trials.values())

    # -- one trial --------------------------------------------------------------------------

    def resolve_trial(self, raw: dict[str, Any]) -> TrialSpec:
        context = {"base_dir": str(self.path.parent)}
        dataset = self.component(raw.get("dataset"), DATASETS, ("dataset",), context)
        model = self.component(raw.get("model"), MODELS, ("model",), context)
        train = self.validate_model(TrainSpec, raw.get("train"), ("train",))
        seed = raw.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise self.error(("seed",), f"expected a non-negative integer, got {seed!r}")
        if model.name == PRETRAINED_MODEL and train.steps > 0:
            raise self.error(
                ("train", "steps"), "a pretrained generator is only evaluated: set train.steps: 0"
            )
        loss = self.optional_component(raw, "loss", LOSSES, context)
        if train.steps > 0 and loss is None:
            raise self.error(("loss",), f"training needs a loss; allowed: {', '.join(LOSSES.names())}")
        if loss is not None:
            self.check_family(model, loss)
        optimizer = self.optimizer(raw.get("optimizer"), train.steps > 0)
        penalty = self.optional_component(raw, "penalty", PENALTIES, context)
        metrics = self.metrics(raw.get("metrics"), context)
        return TrialSpec(
            dataset=dataset,
            model=model,
            loss=loss,
            penalty=penalty,
            optimizer=optimizer,
            train=train,
            metrics=metrics,
            seed=seed,
        )

    def check_family(self, model: ComponentSpec, loss: ComponentSpec) -> None:
        """A GAN loss cannot train a VAE, nor a VAE objective a GAN."""
        if is_user_reference(model.name) or is_user_reference(loss.name):
            return
        model_family, loss_family = MODELS.get(model.name).family, LOSSES.get(loss.name).family
        if model_family and loss_family and model_family != loss_family:
            allowed = ", ".join(LOSSES.names_of_family(model_family))
            raise self.error(
                ("loss",),
                f"'{loss.name}' is a {loss_family.upper()} objective but model '{model.name}' is a "
                f"{model_family.upper()}; allowed: {allowed}",
            )

    def optional_component(
        self, raw: dict[str, Any], key: str, registry: Registry, context: dict[str, Any]
    ) -> ComponentSpec | None:
        if raw.get(key) is None:
            return None
        return self.component(raw[key], registry, (key,), context)

    def component(self, raw: Any, registry: Registry, path: Path_, context: dict[str, Any]) -> ComponentSpec:
        name_path = path
        if isinstance(raw, str):
            raw = {"name": raw}
        elif isinstance(raw, dict):
            name_path = (*path, "name")
            for key in raw:
                if key not in ("name", "params"):
                    raise self.error((*path, key), f"unknown key '{key}'; allowed keys: name, params")
        else:
            raise self.error(
                path, f"expected a {registry.kind} name or {{name: ..., params: {{...}}}}; got {raw!r}"
            )
        name = raw.get("name")
        if not isinstance(name, str):
            raise self.error(name_path, f"expected a {registry.kind} name, got {name!r}")
        params = raw.get("params") or {}
        if is_user_reference(name) and registry.allows_user_code:
            if not isinstance(params, dict):
                raise self.error((*path, "params"), "expected a mapping of keyword arguments")
            return ComponentSpec(name=name, params=params)
        if name not in registry:
            raise self.error(name_path, registry.unknown_message(name))
        params_model = registry.get(name).params_model()
        resolved = self.validate_model(params_model, params, (*path, "params"), context)
        return ComponentSpec(name=name, params=resolved.model_dump(mode="json"))

    def optimizer(self, raw: Any, required: bool) -> ComponentSpec | None:
        path: Path_ = ("optimizer",)
        if raw is None:
            if required:
                raise self.error(
                    path, f"training needs an optimizer; allowed: {', '.join(OPTIMIZERS.names())}"
                )
            return None
        if isinstance(raw, str):
            raw = {"name": raw}
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise self.error(path, "expected {name: adam|adamw|rmsprop|sgd, lr: ..., ...}")
        name = raw["name"]
        if name not in OPTIMIZERS:
            raise self.error((*path, "name"), OPTIMIZERS.unknown_message(name))
        settings = {key: value for key, value in raw.items() if key != "name"}
        params = self.validate_model(OPTIMIZERS.get(name).params_model(), settings, path)
        return ComponentSpec(name=name, params=params.model_dump(mode="json"))

    def metrics(self, raw: Any, context: dict[str, Any]) -> tuple[ComponentSpec, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.error(("metrics",), f"expected a non-empty list from: {', '.join(METRICS.names())}")
        metrics = tuple(
            self.component(item, METRICS, ("metrics", index), context) for index, item in enumerate(raw)
        )
        written: dict[str, str] = {}
        for index, metric in enumerate(metrics):
            outputs = () if is_user_reference(metric.name) else METRICS.get(metric.name).outputs
            for key in outputs:
                if key in written:
                    raise self.error(
                        ("metrics", index),
                        f"metrics '{written[key]}' and '{metric.name}' both write '{key}'; keep one",
                    )
                written[key] = metric.name
        return metrics


def zipped_paths(key: str) -> list[str]:
    """``model+loss`` -> ["model", "loss"]; a plain key is one path."""
    return [path.strip() for path in key.split("+")]


def dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


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


def label(value: Any) -> str:
    """A short readable label: ``hinge``, ``0.0002``, ``wgan-gp(gp_weight=1.0)``."""
    if isinstance(value, dict):
        settings = value.get("params") or {} if set(value) <= {"name", "params"} else value
        inner = ", ".join(f"{key}={label(item)}" for key, item in settings.items() if key != "name")
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
