"""Built-in components as a suite's trial builds them, for tests that build one directly.

The built-in factories state no defaults: their parameter models hold them (``genbench.catalog``),
and a suite's trial always passes every parameter. ``built`` does the same: the model's defaults,
with what the test names instead. Not validated, so a test can also hand a factory what a suite
could not (a missing folder, to see the factory's own error).
"""

from __future__ import annotations

from typing import Any

from genbench.registry import Registry


def built(registry: Registry, name: str, /, *args: Any, **params: Any) -> Any:
    """The registered ``name`` called with ``args`` (a model's data shape) and every parameter."""
    entry = registry.get(name)
    return entry.load()(*args, **entry.params_model().model_construct(**params).model_dump())
