"""One small generic registry of named, lazily imported components.

Entries are declared as ``"package.module:attribute"`` strings so that listing and validating a
suite never imports torch; the target is imported only when a trial is built. Each entry may carry a
pydantic model of its parameters (also lazy), which suites are validated against, and, for a metric,
the declarations of the result keys it writes. A suite may name user code directly as
``my_package.module:factory`` instead of a registered name.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import BaseModel

from genbench.errors import GenbenchError


def import_object(path: str) -> Any:
    """Import ``package.module:attribute`` and return the attribute."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise GenbenchError(f"'{path}' is not of the form 'package.module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise GenbenchError(f"cannot import module '{module_name}' named by '{path}': {error}") from error
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise GenbenchError(f"module '{module_name}' has no attribute '{attribute}' ('{path}')") from None


def is_user_reference(name: str) -> bool:
    """A name of the form ``package.module:factory`` points at user code instead of a registry entry."""
    return ":" in name


class Direction(Enum):
    """The direction in which a result is better; ``NONE`` for one that has none (a spread, a KL
    whose value near 0 means a collapsed posterior), which reports and checks cannot rank by."""

    HIGHER = "higher is better"
    LOWER = "lower is better"
    NONE = "no better direction"


@dataclass(frozen=True)
class Output:
    """One result key a component writes, declared once: where it is better, its axis label with
    the unit, and what it means (the report's glossary reads it)."""

    key: str
    direction: Direction
    label: str
    meaning: str


def outputs_by_key(outputs: Iterable[Output]) -> dict[str, Output]:
    """Declarations by key; a key declared twice must be declared the same way both times."""
    by_key: dict[str, Output] = {}
    for output in outputs:
        if by_key.setdefault(output.key, output) != output:
            raise ValueError(f"result key '{output.key}' is declared twice, differently")
    return by_key


@dataclass(frozen=True)
class Entry:
    name: str
    target: str
    description: str
    params: str | None = None
    #: model family ("gan", "vae") for models and objectives, so a suite cannot pair a GAN loss
    #: with a VAE; None where any family fits
    family: str | None = None
    #: result keys a metric writes, so a suite cannot name two metrics that overwrite each other
    outputs: tuple[Output, ...] = ()
    #: for models: whether the networks it builds stack into a vectorized ensemble (one model whose
    #: every parameter has a leading member dimension, genbench.models.stacking), so that trials
    #: differing only in their seed can train together
    stacks: bool = False

    def load(self) -> Any:
        return import_object(self.target)

    def params_model(self) -> type[BaseModel] | None:
        return import_object(self.params) if self.params else None


class Registry:
    """Named entries of one kind (datasets, models, losses, ...)."""

    def __init__(self, kind: str, allows_user_code: bool = False) -> None:
        self.kind = kind
        self.allows_user_code = allows_user_code
        self._entries: dict[str, Entry] = {}

    def register(
        self,
        name: str,
        target: str,
        description: str,
        params: str | None = None,
        family: str | None = None,
        outputs: tuple[Output, ...] = (),
        stacks: bool = False,
    ) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = Entry(name, target, description, params, family, outputs, stacks)

    def outputs(self) -> dict[str, Output]:
        """Every result key the entries declare, by key."""
        return outputs_by_key(output for entry in self.entries() for output in entry.outputs)

    def names_of_family(self, family: str) -> list[str]:
        return [entry.name for entry in self.entries() if entry.family == family]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[name] for name in self.names()]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def get(self, name: str) -> Entry:
        """The entry called ``name``, or an error listing the known names and the closest match."""
        try:
            return self._entries[name]
        except KeyError:
            raise GenbenchError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        user_code = ", or 'package.module:factory' for your own code" if self.allows_user_code else ""
        return f"unknown {self.kind} '{name}'.{hint} Allowed: {', '.join(self.names())}{user_code}"
