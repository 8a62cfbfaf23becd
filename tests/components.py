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


def streams(data_seed: int, latent_seed: int, penalty_seed: int = 3) -> Any:
    """One trial's training streams from explicit seeds."""
    import torch

    from genbench.train.streams import MemberStreams, TrainingStreams

    def stream(seed: int) -> MemberStreams:
        return MemberStreams([torch.Generator().manual_seed(seed)])

    return TrainingStreams(data=stream(data_seed), latent=stream(latent_seed), penalty=stream(penalty_seed))
