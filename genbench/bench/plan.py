"""What ``genbench bench`` measures: the suite's distinct configurations and the sizes to try.

A suite's trials that differ only in their seed are one configuration: seeds change the numbers a
trial finds, not how fast it trains. So bench measures each configuration once per ensemble size
and batch size, and only the first few (``max_configs``), so that a large grid is benchmarked in
minutes rather than a study's time. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from genbench.bench import defaults
from genbench.errors import GenbenchError
from genbench.replicates import cell_key
from genbench.runner.ensembles import ensemble_key
from genbench.spec import TrialSpec
from genbench.suite import Suite


@dataclass(frozen=True)
class BenchPlan:
    ensemble_sizes: tuple[int, ...]
    #: None: each configuration's own batch size
    batch_sizes: tuple[int, ...] | None = None
    steps: int = defaults.STEPS
    warmup_steps: int = defaults.WARMUP_STEPS
    samples: int = defaults.SAMPLES


@dataclass(frozen=True)
class Configuration:
    """One configuration of a suite, as its seed-0 trial, and whether its networks stack."""

    label: str
    spec: TrialSpec
    #: False where the runner trains it alone (``genbench.runner.ensembles``): measured at E = 1 only
    stacks: bool

    def batch_sizes(self, plan: BenchPlan) -> tuple[int, ...]:
        return plan.batch_sizes or (self.spec.train.batch_size,)

    def ensemble_sizes(self, plan: BenchPlan) -> tuple[int, ...]:
        return plan.ensemble_sizes if self.stacks else (1,)


def sizes(text: str, option: str) -> tuple[int, ...]:
    """``1,8,32`` as (1, 8, 32): positive, distinct, in the given order."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1 or len(set(values)) != len(values):
        raise GenbenchError(
            f"{option} must be distinct positive integers separated by commas (e.g. 1,8,32), got '{text}'"
        )
    return values


def configurations(suite: Suite, max_configs: int) -> list[Configuration]:
    """The suite's first ``max_configs`` configurations in suite order, seeds left out."""
    seen: dict[str, Configuration] = {}
    for trial in suite.trials:
        spec = trial.spec.model_copy(update={"seed": 0})
        key = spec.trial_id()
        if key in seen:
            continue
        if len(seen) == max_configs:
            break
        seen[key] = Configuration(
            label=cell_key(trial.grid, suite.grid_keys),
            spec=spec,
            stacks=ensemble_key(spec) is not None,
        )
    return list(seen.values())
