"""Which of a run's trials train together as one vectorized ensemble.

Trials that differ only in their seed (and dataset, of one sample shape) can train as one model
whose every parameter has a leading member dimension (``genbench.models.stacking``); members stay
independent and each trial keeps its own record, so forming ensembles changes how fast a run
goes, never what it finds. Only registered models that declare ``stacks`` can be stacked, and
only with our own losses, penalties and remedies: we cannot know that user code
(``package.module:factory``) keeps members apart. Remedies are part of the key like every other
setting, so the members of an ensemble share them. A trial that does not train has nothing to stack.

``auto`` makes ensembles as large as memory allows (at most ``MAX_AUTO_MEMBERS``), then splits them
while some worker would otherwise sit idle: one ensemble of 16 seeds on 2 workers runs as two of 8.
Torch-free: it reads specs only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from genbench.catalog import DATASETS, MODELS
from genbench.errors import GenbenchError
from genbench.registry import is_user_reference
from genbench.settings import physical_memory_bytes
from genbench.spec import ComponentSpec, Trial, TrialSpec
from genbench.suite.checks import memory_needs

#: members of an ensemble that ``auto`` forms: on a CPU the default suite's network gained little
#: from 8 members to 32 (issue 10), while a GPU needs dozens of small MLPs to fill its kernels
MAX_AUTO_MEMBERS = 64
#: the share of physical memory that the ensembles running at once may claim together; the
#: per-member estimate is a lower bound, so the rest is headroom for what it does not count
MEMORY_SHARE = 0.5

#: ``off`` (every trial alone), ``auto``, or an int N >= 1 (at most N members)
EnsembleSetting = Literal["auto", "off"] | int


def ensemble_setting(value: str | int) -> EnsembleSetting:
    """``auto``, ``off`` or a member count of at least 1, from the command line's text or a caller's int."""
    if value in ("auto", "off"):
        return value
    try:
        members = int(value)
    except ValueError:
        members = 0
    if members < 1:
        raise GenbenchError(
            f"--ensemble must be auto, off or a number of members of at least 1, got '{value}'"
        )
    return members


def ensemble_key(spec: TrialSpec) -> str | None:
    """Trials with equal keys may train together: their specs are equal but for the seed and the
    dataset, whose sample shape must be equal (ring8 and grid25 train as one ensemble: each
    member draws from its own dataset). None when the trial cannot be in an ensemble."""
    if not spec.trains or not stacks(spec.model):
        return None
    if any(
        part is not None and is_user_reference(part.name)
        for part in (spec.loss, spec.penalty, *spec.remedies)
    ):
        return None
    shared = spec.model_dump(mode="json", exclude={"seed", "dataset"})
    return json.dumps({**shared, "data": data_key(spec.dataset)}, sort_keys=True)


def data_key(dataset: ComponentSpec) -> object:
    """What a member's dataset must share with the others': its sample shape, where its settings
    state it; else (user datasets) the dataset itself."""
    if is_user_reference(dataset.name) or dataset.name not in DATASETS:
        return dataset.model_dump(mode="json")
    params_model = DATASETS.get(dataset.name).params_model()
    if params_model is None:
        return dataset.model_dump(mode="json")
    return list(params_model(**dataset.params).sample_shape())


def stacks(model: ComponentSpec) -> bool:
    """A registered model whose networks stack with these settings (DCGAN's spectral norm does
    not); a user model (``module:factory``) never does."""
    if model.name not in MODELS or not MODELS.get(model.name).stacks:
        return False
    params_model = MODELS.get(model.name).params_model()
    return params_model is None or params_model(**model.params).stacks()


def member_bytes(spec: TrialSpec) -> int:
    """A lower bound of the memory one member needs: what a trial holds through its evaluations
    plus the largest working set it passes through (``genbench.suite.checks.memory_needs``, the
    estimate that refuses a suite that cannot fit). Members share only the reference set, which
    this counts per member: more headroom."""
    held, passing = memory_needs(spec)
    return sum(need.bytes for need in held) + max((need.bytes for need in passing), default=0)


def members_in_memory(spec: TrialSpec, workers: int) -> int:
    """The most members of ``spec`` that ``auto`` puts in one ensemble: ``MAX_AUTO_MEMBERS``, fewer
    where ``workers`` such ensembles at once would claim more than ``MEMORY_SHARE`` of memory."""
    memory = physical_memory_bytes()
    if memory is None:
        return MAX_AUTO_MEMBERS
    budget = MEMORY_SHARE * memory / workers
    return max(1, min(MAX_AUTO_MEMBERS, int(budget // max(1, member_bytes(spec)))))


def form_ensembles(trials: Sequence[Trial], setting: EnsembleSetting, workers: int) -> list[list[Trial]]:
    """The trials as ensembles in suite order (of each ensemble's first member), each ensemble's
    members in suite order: every trial alone (``off``), at most N members of a seed group (N),
    or (``auto``) groups as large as memory allows, split further while there are fewer ensembles
    than ``workers``. Ensembles of one group are as equal in size as can be."""
    if setting == "off":
        return [[trial] for trial in trials]
    groups = seed_groups(trials)
    if setting == "auto":
        counts = [ceil_div(len(group), members_in_memory(group[0].spec, workers)) for group in groups]
        counts = spread_over_workers([len(group) for group in groups], counts, workers)
    else:
        counts = [ceil_div(len(group), setting) for group in groups]
    ensembles = [
        part for group, count in zip(groups, counts, strict=True) for part in split_evenly(group, count)
    ]
    position = {trial.id: index for index, trial in enumerate(trials)}
    return sorted(ensembles, key=lambda ensemble: position[ensemble[0].id])


def longest_first(ensembles: list[list[Trial]]) -> list[list[Trial]]:
    """The ensembles in the order workers should take them: the most work first (a rough count of
    samples through the networks: members x steps x (discriminator steps + 1) x batch size), ties
    in suite order. A long ensemble started last would leave the other workers idle at the end;
    longest-first keeps a suite's wall time near its total work divided by the workers."""
    return sorted(ensembles, key=lambda ensemble: -estimated_work(ensemble))


def estimated_work(ensemble: list[Trial]) -> int:
    train = ensemble[0].spec.train
    return len(ensemble) * max(train.steps, 1) * (train.d_steps + 1) * train.batch_size


def seed_groups(trials: Sequence[Trial]) -> list[list[Trial]]:
    """Trials of equal ``ensemble_key``, in the order of their first member; a trial that cannot be
    in an ensemble is a group of its own."""
    groups: dict[str, list[Trial]] = {}
    ordered: list[list[Trial]] = []
    for trial in trials:
        key = ensemble_key(trial.spec)
        if key is None:
            ordered.append([trial])
        elif key in groups:
            groups[key].append(trial)
        else:
            groups[key] = [trial]
            ordered.append(groups[key])
    return ordered


def spread_over_workers(sizes: list[int], counts: list[int], workers: int) -> list[int]:
    """Split the groups (``sizes`` trials into ``counts`` ensembles each) into more ensembles while
    there are fewer than ``workers``, always the group whose ensembles are largest: an idle worker
    gains more than a larger ensemble does."""
    counts = list(counts)
    while sum(counts) < workers:
        largest = [ceil_div(size, count) for size, count in zip(sizes, counts, strict=True)]
        if max(largest, default=1) == 1:
            break
        counts[largest.index(max(largest))] += 1
    return counts


def split_evenly(members: list[Trial], count: int) -> list[list[Trial]]:
    """``members`` in ``count`` consecutive parts whose sizes differ by at most one."""
    size, larger = divmod(len(members), count)
    parts, start = [], 0
    for index in range(count):
        end = start + size + (index < larger)
        parts.append(members[start:end])
        start = end
    return parts


def ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)
