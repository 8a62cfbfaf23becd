"""Reading a suite file: its lines, its limits, and the trials it resolves to.

The file is parsed with the line of every key kept, so that any problem (PyYAML's, a parameter
model's, or a ``SuiteProblem`` from the grid or the cross-checks) becomes a ``SuiteError`` naming the
file, the line and the key. Its size is bounded before it is built (YAML aliases multiply), every
number in it must be finite, and each trial of the grid is resolved against the registries into a
``genbench.spec.TrialSpec``: component names looked up, parameters validated, defaults filled in.
The ``train:`` section's run options (``checkpoint_every``, ``timeout``: ``genbench.spec.RunOptions``)
are taken out of it once for the whole suite: they are no part of a spec, and no grid value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from genbench.catalog import DATASETS, LOSSES, METRICS, MODELS, OPTIMIZERS, PENALTIES, REMEDIES
from genbench.errors import GenbenchError, SuiteError
from genbench.limits import DEFAULT_MAX_TRIALS
from genbench.registry import Registry, is_user_reference
from genbench.runner.executors.settings import ExecutionSettings
from genbench.settings import CheckSettings, FieldProblem, ReportSettings, StrictModel, short, shown
from genbench.spec import (
    PRETRAINED_MODEL,
    RUN_OPTION_KEYS,
    ComponentSpec,
    RunOptions,
    TrainSpec,
    Trial,
    TrialSpec,
)
from genbench.suite.checks import (
    check_batch,
    check_evaluations,
    check_family,
    check_memory,
    check_metric_outputs,
    check_remedies,
    check_report_keys,
    check_report_metrics,
)
from genbench.suite.grid import (
    NAMED_KEYS,
    TRIAL_KEYS,
    check_trial_count,
    grid_points,
    read_grid,
    zipped_paths,
)
from genbench.suite.paths import Path_, SuiteProblem, dotted
from genbench.suite.study import Suite


class SuiteHeader(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="used as a folder name")
    description: str = ""


SUITE_KEYS = ("name", "description", *TRIAL_KEYS, "grid", "report", "check", "execution")
REQUIRED_KEYS = ("name", "dataset", "model", "metrics")

#: values (scalars, lists, mappings) a suite file may hold, each use of a YAML alias counted again:
#: the shipped suites hold a few hundred; nine levels of nine aliases ("billion laughs") hold 9^9,
#: and once took 9 GB and minutes to read
MAX_SUITE_VALUES = 100_000


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
        self,
        model: type[BaseModel],
        raw: Any,
        path: Path_,
        context: dict[str, Any] | None = None,
        also_allowed: tuple[str, ...] = (),
    ) -> BaseModel:
        """``raw`` as a ``model``; an error names an unknown key with the keys the section allows:
        the model's and ``also_allowed`` (keys taken out of the section before, such as ``train:``'s
        run options)."""
        allowed = ", ".join((*model.model_fields, *also_allowed))
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
        """The suite, every problem placed at its line. A ``SuiteProblem`` from the grid or the
        checks arrives while ``origins`` still holds the grid values of the trial it is about."""
        try:
            return self.suite()
        except SuiteProblem as problem:
            raise self.error(problem.path, problem.problem) from None

    def suite(self) -> Suite:
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
        execution = self.validate_model(ExecutionSettings, data.get("execution"), ("execution",))
        grid = read_grid(data.get("grid"))
        grid_keys = [path for key in grid for path in zipped_paths(key)]
        check_report_keys(report, grid_keys)
        check_report_metrics(report)
        check_trial_count(grid, self.max_trials)
        self.check_no_run_options_in_grid(grid)
        base = {key: data[key] for key in TRIAL_KEYS if key in data}
        options = self.run_options(base)
        self.check_overridden_base(base, grid_keys)
        trials = self.expand(base, grid, options)
        return Suite(
            name=header.name,
            description=header.description.strip(),
            path=self.path,
            text=self.text,
            grid_keys=tuple(grid_keys),
            trials=tuple(trials),
            report=report,
            check=check,
            execution=execution,
        )

    def run_options(self, base: dict[str, Any]) -> RunOptions:
        """The run options of the ``train:`` section (``genbench.spec.RunOptions``), taken out of
        ``base``: they are not part of any trial's spec."""
        train = base.get("train")
        if not isinstance(train, dict):
            return RunOptions()
        options = {key: train[key] for key in RUN_OPTION_KEYS if key in train}
        base["train"] = {key: value for key, value in train.items() if key not in RUN_OPTION_KEYS}
        return self.validate_model(RunOptions, options, ("train",))

    def check_no_run_options_in_grid(self, grid: dict[str, list[Any]]) -> None:
        """A run option is how every trial of the suite runs, not a setting a grid compares."""
        for key in grid:
            for path in zipped_paths(key):
                if path.split(".")[0] == "train" and path.split(".")[-1] in RUN_OPTION_KEYS:
                    raise self.error(("grid", key), run_option_in_grid(path.split(".")[-1]))

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
            "train": lambda raw: self.validate_model(
                TrainSpec, raw, ("train",), also_allowed=RUN_OPTION_KEYS
            ),
            "metrics": lambda raw: self.metrics(raw, context),
            "seed": self.seed,
            "remedies": lambda raw: self.remedies(raw, context),
        }
        for key in dict.fromkeys(path.split(".")[0] for path in grid_keys):
            raw = base.get(key)
            if raw is None or (isinstance(raw, dict) and key in NAMED_KEYS and "name" not in raw):
                continue
            validators[key](raw)

    def expand(self, base: dict[str, Any], grid: dict[str, list[Any]], options: RunOptions) -> list[Trial]:
        trials: dict[str, Trial] = {}
        for point in grid_points(base, grid):
            self.origins = point.origins
            spec = self.resolve_trial(point.raw)
            trial = Trial(
                id=spec.trial_id(),
                spec=spec,
                grid=point.labels,
                grid_columns=point.columns,
                run_options=options,
            )
            if trial.id in trials:
                raise self.error(
                    ("grid",),
                    f"the grid gives the same trial twice ({shown(point.labels)} and "
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
        for key in RUN_OPTION_KEYS:
            # the base's run options were taken out: one here came with a grid value of ``train``
            if isinstance(raw.get("train"), dict) and key in raw["train"]:
                raise self.error(("train", key), run_option_in_grid(key))
        train = self.validate_model(TrainSpec, raw.get("train"), ("train",), also_allowed=RUN_OPTION_KEYS)
        check_evaluations(train)
        seed = self.seed(raw.get("seed", 0))
        if model.name == PRETRAINED_MODEL and train.steps > 0:
            raise self.error(
                ("train", "steps"), "a pretrained generator is only evaluated: set train.steps: 0"
            )
        loss = self.optional_component(raw, "loss", LOSSES, context)
        if train.steps > 0 and loss is None:
            raise self.error(("loss",), f"training needs a loss; allowed: {', '.join(LOSSES.names())}")
        if loss is not None:
            check_family(model, loss)
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
            remedies=self.remedies(raw.get("remedies"), context),
        )
        check_remedies(spec)
        check_batch(spec)
        check_memory(spec)
        return spec

    def seed(self, seed: Any) -> int:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise self.error(("seed",), f"expected a non-negative integer, got {shown(seed)}")
        return seed

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
        check_metric_outputs(metrics)
        return metrics

    def remedies(self, raw: Any, context: dict[str, Any]) -> tuple[ComponentSpec, ...]:
        """The remedies, in the order written; none when the key is absent or the list empty."""
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise self.error(
                ("remedies",),
                f"expected a list of remedies from: {', '.join(REMEDIES.names())} (or []); got {shown(raw)}",
            )
        return tuple(
            self.component(item, REMEDIES, ("remedies", index), context) for index, item in enumerate(raw)
        )


def run_option_in_grid(key: str) -> str:
    return (
        f"train.{key} is an execution setting of the whole suite, not a grid value (it does not change "
        "a trial's result); set it once in the suite's train: section"
    )
