"""Seed groups: the seeds of one configuration, grouped, named and summarized the same way for
checks and reports.

A suite's grid crosses configurations with seeds. The seeds of one configuration are replicates:
their spread is the noise against which a check or a report judges a difference, so a group is a
configuration with its seed left out. Checks (``genbench.check``) call it a *cell* and name it by
``key=label`` pairs, which a baseline file stores and must keep reading; reports
(``genbench.report``) show the same group by its labels alone, since their tables name the keys in
columns. Both names come from the group's labels here, as does the group of a suite whose grid
varies nothing but the seed.

Values are compared only under the same protocol (reference set, sample counts, feature space), so
protocols are compared by one canonical text. A group's values are summarized by their mean and
sample standard deviation, computed once here, so that a check and a report of the same run show the
same numbers. Torch-free.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import Field, FiniteFloat

from genbench.settings import StrictModel

#: the grid key whose values are the replicates of a configuration
SEED_KEY = "seed"
#: the name of the only group of a suite whose grid varies nothing but the seed
WHOLE_SUITE = "(all)"
#: joins a group's labels in the name reports show (``hinge / adam``)
GROUP_SEPARATOR = " / "


def configuration_keys(grid_keys: Iterable[str]) -> list[str]:
    """The grid keys that tell configurations apart: every one but the seed, in the suite's order."""
    return [key for key in grid_keys if key != SEED_KEY]


def cell_key(grid: Mapping[str, str], grid_keys: Iterable[str]) -> str:
    """A check's name of the group of ``grid`` (a trial's labels): ``key=label`` for every
    configuration key, joined by ``|`` (``loss=hinge|optimizer=adam``). Baseline files are keyed
    by it, so it must not change."""
    parts = [f"{key}={grid[key]}" for key in configuration_keys(grid_keys)]
    return "|".join(parts) or WHOLE_SUITE


def group_label(labels: Iterable[str]) -> str:
    """A report's name of a group: its labels on the group keys, in order (``hinge / adam``)."""
    return GROUP_SEPARATOR.join(labels) or WHOLE_SUITE


def protocol_key(protocol: Mapping[str, Any]) -> str:
    """A protocol as canonical text: two protocols are the same exactly when their keys are."""
    return json.dumps(protocol, sort_keys=True)


def mean_and_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """The mean and the sample standard deviation (ddof=1) of a group's values; None where
    undefined (no value; one value for the deviation). Computed as the Welch test of a check
    computes them, so the numbers a check shows are the ones it tested."""
    array = np.asarray(values, dtype=float)
    mean = float(array.mean()) if len(array) else None
    std = float(array.std(ddof=1)) if len(array) >= 2 else None
    return mean, std


class Summary(StrictModel):
    """n, mean and sample standard deviation of one group's values of one metric, every number
    finite: what baselines store and check results show."""

    n: int = Field(ge=0)
    mean: FiniteFloat | None
    std: Annotated[FiniteFloat, Field(ge=0)] | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        """Raises ``OverflowError`` when finite values are too large to be summarized."""
        mean, std = mean_and_std(values)
        if not all(math.isfinite(number) for number in (mean, std) if number is not None):
            raise OverflowError("values too large to summarize")
        return cls(n=len(values), mean=mean, std=std)
