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
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from genbench.catalog import DATASETS, LOSSES, METRICS, MODELS, OPTIMIZERS, PENALTIES
from genbench.errors import GenbenchError, SuiteError
from genbench.limits import DEFAULT_MAX_TRIALS
from genbench.registry import Registry, is_user_reference
from genbench.settings import (
    CheckSettings,
    FieldProblem,
    ReportSettings,
    StrictModel,
    physical_memory_bytes,
    short,
    shown,
)

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
#: trial keys whose value names a component (``{name: ..., params: ...}``)
NAMED_KEYS = ("dataset", "model", "loss", "penalty", "optimizer")
SUITE_KEYS = ("name", "description", *TRIAL_KEYS, "grid", "report", "check")
REQUIRED_KEYS = ("name", "dataset", "model", "metrics")

#: values (scalars, lists, mappings) a suite file may hold, each use of a YAML alias counted again:
#: the shipped suites hold a few hundred; nine levels of nine aliases ("billion laughs") hold 9^9,
#: and once took 9 GB and minutes to read
MAX_SUITE_VALUES = 100_000
#: evaluations one trial may schedule, each a row of curves per metric in memory and on disk: a
#: million steps evaluated every 100 is 10,000; a typo in ``steps`` is billions
MAX_EVALUATIONS = 10_000
FLOAT32_BYTES = 4


def load_suite(path: Path | str, max_trials: int = DEFAULT_MAX_TRIALS) -> Suite:
    """Read, validate and expand a suite file; raises SuiteError naming file, line and key.
    A grid of more than ``max_trials`` trials is refused before it is expanded."""
    path = Path(path)
    if not path.is_file():
        raise GenbenchError(f"no suite file at {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GenbenchError(f"{path} is not a text file (UTF-8); a suite is YAML") from None
    return SuiteLoader(path, text, max_trials).load()


class SuiteLoader:
    """Validates one suite file, keeping the line of every key so errors can point at it."""

    def __init__(self, path: Path, text: str, max_trials: int = DEFAULT_MAX_TRIALS) -> None:
        self.path, self.text = path, text
        self.max_trials = max_trials
        #: values met so far by the walk of the file, each use of an alias counted again
        self.values_seen = 0
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
            raise self.error(path, f"expected a mapping with keys from: {allowed}; got {shown(raw)}")
        for key in raw:
            if key not in model.model_fields:
                raise self.error((*path, key), f"unknown key '{short(str(key))}'; allowed keys: {allowed}")
        try:
            return model.model_validate(raw, context=context)
        except ValidationError as invalid:
            first = invalid.errors()[0]
            location = (*path, *first["loc"])
            cause = first.get("ctx", {}).get("error")
            if isinstance(cause, ValueError):
                # a validator's own message, which names the value; FieldProblem names its field
                problem = str(cause)
                if isinstance(cause, FieldProblem):
                    location = (*location, cause.field)
            else:
                problem = first["msg"]
                if first["type"] != "missing" and first["loc"]:
                    problem += f" (got {shown(first['input'])})"
            raise self.error(location, problem) from None

    # -- parsing ----------------------------------------------------------------------------

    def parse(self) -> dict[str, Any]:
        """The file's mapping. Its nodes are walked (lines recorded, values counted) before they
        are built into objects, so a file of aliases of aliases is refused while it is still small:
        composing keeps one node per alias, the walk and everything after it meet every use."""
        loader = yaml.SafeLoader(self.text)
        try:
            root = loader.get_single_node()
            if root is not None:
                self.record_lines(root, ())
            data = loader.construct_document(root) if root is not None else None
        except yaml.YAMLError as invalid:
            raise self.yaml_error(invalid) from None
        except RecursionError:
            raise SuiteError(str(self.path), None, "(yaml)", "values nested too deeply") from None
        finally:
            loader.dispose()
        if not isinstance(data, dict):
            raise self.error((), "a suite must be a mapping with keys: " + ", ".join(SUITE_KEYS))
        return data

    def yaml_error(self, invalid: yaml.YAMLError) -> SuiteError:
        """PyYAML's problem on one line (the line number is the error's own)."""
        mark = getattr(invalid, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        parts = [getattr(invalid, "context", None), getattr(invalid, "problem", None)]
        problem = "; ".join(part for part in parts if part) or str(invalid)
        return SuiteError(
            str(self.path), line, "(yaml)", f"not valid YAML: {short(' '.join(problem.split()))}"
        )

    def record_lines(self, node: yaml.Node, path: Path_) -> None:
        self.values_seen += 1
        if self.values_seen > MAX_SUITE_VALUES:
            raise SuiteError(
                str(self.path),
                node.start_mark.line + 1,
                dotted(path) or "(top level)",
                f"the file holds more than {MAX_SUITE_VALUES:,} values, counting every use of a YAML "
                "alias (aliases of aliases multiply); write a smaller suite",
            )
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
        self.check_finite(data, ())
        for key in data:
            if key not in SUITE_KEYS:
                raise self.error(
                    (key,), f"unknown key '{short(str(key))}'; allowed keys: {', '.join(SUITE_KEYS)}"
                )
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
        self.check_trial_count(grid)
        base = {key: data[key] for key in TRIAL_KEYS if key in data}
        self.check_overridden_base(base, grid_keys)
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

    def check_finite(self, value: Any, path: Path_) -> None:
        """Every number written in the file is finite, the free-form parameters of user code and
        the grid's values included: an infinite learning rate trains to NaN, and the trial would
        be recorded as diverged, which reads as a result and is never rerun."""
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(path, f"expected a finite number, got {value}")
        if isinstance(value, dict):
            for key, item in value.items():
                self.check_finite(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.check_finite(item, (*path, index))

    def check_trial_count(self, grid: dict[str, list[Any]]) -> None:
        """Count the grid's trials before expanding them: a list too many would take minutes and
        gigabytes to expand, and a study that large is a typo more often than a plan."""
        count = math.prod(len(values) for values in grid.values())
        if count > self.max_trials:
            sizes = short(" x ".join(f"{len(values)} ({key})" for key, values in grid.items()))
            raise self.error(
                ("grid",),
                f"the grid expands to {count:,} trials ({sizes}), more than the limit of "
                f"{self.max_trials:,}; shrink the grid, or raise the limit with --max-trials {count}",
            )

    def check_overridden_base(self, base: dict[str, Any], grid_keys: list[str]) -> None:
        """Validate, on its own, each base value that the grid overrides: no trial holds it, but a
        typo there is still a typo (``loss: hingee`` above ``grid: {loss: [hinge, ns]}``). Checks
        across keys (a loss of the model's family) need a whole trial and are left to the trials; a
        component without a name is named by the grid, so its parameters cannot be checked alone."""
        context = {"base_dir": str(self.path.parent)}
        validators: dict[str, Callable[[Any], object]] = {
            "dataset": lambda raw: self.component(raw, DATASETS, ("dataset",), context),
            "model": lambda raw: self.component(raw, MODELS, ("model",), context),
            "loss": lambda raw: self.component(raw, LOSSES, ("loss",), context),
            "penalty": lambda raw: self.component(raw, PENALTIES, ("penalty",), context),
            "optimizer": lambda raw: self.optimizer(raw, required=False),
            "train": lambda raw: self.validate_model(TrainSpec, raw, ("train",)),
            "metrics": lambda raw: self.metrics(raw, context),
            "seed": self.seed,
        }
        for key in dict.fromkeys(path.split(".")[0] for path in grid_keys):
            raw = base.get(key)
            if raw is None or (isinstance(raw, dict) and key in NAMED_KEYS and "name" not in raw):
                continue
            validators[key](raw)

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
                        f"'{short(path)}' is not a path into a trial; it must start with one of: "
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
                        f"'{short(key)}' is not a grid key; grid keys: "
                        + short(", ".join(grid_keys) or "(no grid)"),
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
                    f"the grid gives the same trial twice ({shown(labels)} and "
                    f"{shown(trials[trial.id].grid)}); remove the repeated value",
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
        self.check_evaluations(train)
        seed = self.seed(raw.get("seed", 0))
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
        spec = TrialSpec(
            dataset=dataset,
            model=model,
            loss=loss,
            penalty=penalty,
            optimizer=optimizer,
            train=train,
            metrics=metrics,
            seed=seed,
        )
        self.check_memory(spec)
        return spec

    def seed(self, seed: Any) -> int:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise self.error(("seed",), f"expected a non-negative integer, got {shown(seed)}")
        return seed

    def check_evaluations(self, train: TrainSpec) -> None:
        """A huge ``steps`` trains in constant memory, but each evaluation keeps a row of curves:
        refuse a schedule of more evaluations than a study could want."""
        if train.eval_every == 0:
            return
        evaluations = -(-train.steps // train.eval_every)
        if evaluations > MAX_EVALUATIONS:
            raise self.error(
                ("train", "steps"),
                f"{train.steps:,} steps with an evaluation every {train.eval_every:,} make "
                f"{evaluations:,} evaluations, more than {MAX_EVALUATIONS:,}; lower train.steps or "
                "raise train.eval_every",
            )

    def check_memory(self, spec: TrialSpec) -> None:
        """Refuse a trial whose batches or evaluations cannot fit in this machine's memory on any
        device: it would fail with an empty MemoryError, or its worker be killed by the system."""
        available = physical_memory_bytes()
        if available is None:
            return
        held, passing = memory_needs(spec)
        total = sum(need.bytes for need in held) + max((need.bytes for need in passing), default=0)
        if total <= available:
            return
        largest = max([*held, *passing], key=lambda need: need.bytes)
        raise self.error(
            largest.key,
            f"this trial needs at least {byte_size(total)} of memory, most of it for {largest.what}: "
            f"more than this machine's {byte_size(available)}; lower {dotted(largest.key)}",
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
                    raise self.error(
                        (*path, key), f"unknown key '{short(str(key))}'; allowed keys: name, params"
                    )
        else:
            raise self.error(
                path, f"expected a {registry.kind} name or {{name: ..., params: {{...}}}}; got {shown(raw)}"
            )
        name = raw.get("name")
        if not isinstance(name, str):
            raise self.error(name_path, f"expected a {registry.kind} name, got {shown(name)}")
        params = raw.get("params") or {}
        if is_user_reference(name) and registry.allows_user_code:
            if not isinstance(params, dict):
                raise self.error((*path, "params"), "expected a mapping of keyword arguments")
            return ComponentSpec(name=name, params=params)
        if name not in registry:
            raise self.error(name_path, registry.unknown_message(short(name)))
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
            raise self.error((*path, "name"), OPTIMIZERS.unknown_message(short(name)))
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
    """``("grid", "loss", 2)`` -> ``grid.loss[2]``, each key cut short: a key is echoed in errors."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{short(str(part))}" if text else short(str(part))
    return text


@dataclass(frozen=True)
class MemoryNeed:
    """Part of a trial's memory: the setting it grows with, a lower bound in bytes, and what it is."""

    key: Path_
    bytes: int
    what: str


def memory_needs(spec: TrialSpec) -> tuple[list[MemoryNeed], list[MemoryNeed]]:
    """What a trial holds through its evaluations (the generated and reference samples), and what
    a training step or one metric works in for a while; lower bounds from the spec alone, with
    nothing loaded, so an estimate above the machine's memory means the trial cannot run.

    User components (``module:factory``) count as the smallest possible: one value per sample.
    """
    data = registry_params(DATASETS, spec.dataset)
    shape = data.sample_shape() if data is not None else (1,)
    values = math.prod(shape)
    generated = spec.train.eval_samples
    reference_key: Path_ = ("train", "reference_samples" if spec.train.reference_samples else "eval_samples")
    requested = spec.train.reference_samples or generated
    reference = data.reference_count(requested) if data is not None else requested
    modes = data.mode_count() if data is not None else 0
    held = [
        MemoryNeed(
            ("train", "eval_samples"), FLOAT32_BYTES * generated * values, f"{generated:,} generated samples"
        ),
        MemoryNeed(reference_key, FLOAT32_BYTES * reference * values, f"{reference:,} reference samples"),
    ]
    passing = []
    if spec.trains:
        model = registry_params(MODELS, spec.model)
        per_sample = 2 * values + (model.activations_per_sample(shape) if model is not None else 0)
        batch = spec.train.batch_size
        passing.append(
            MemoryNeed(
                ("train", "batch_size"), FLOAT32_BYTES * batch * per_sample, f"batches of {batch:,} samples"
            )
        )
    samples_key = reference_key if reference > generated else ("train", "eval_samples")
    for metric in spec.metrics:
        params = registry_params(METRICS, metric)
        if params is None:
            continue
        passing.append(
            MemoryNeed(
                samples_key,
                params.working_bytes(generated, reference, values, modes),
                f"metric '{metric.name}' on {generated:,} generated and {reference:,} reference samples",
            )
        )
    return held, passing


def registry_params(registry: Registry, component: ComponentSpec) -> Any:
    """The parameter model of a registered component, rebuilt from its resolved parameters without
    validating again (no file is reopened); None for user code."""
    if is_user_reference(component.name):
        return None
    return registry.get(component.name).params_model().model_construct(**component.params)


def byte_size(count: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:,.1f} {unit}" if unit != "B" else f"{count} B"
        size /= 1024
    raise AssertionError("unreachable")


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
