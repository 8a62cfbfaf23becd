"""genbench's own checkpoints: a trained model's weights and what is needed to rebuild it.

A checkpoint holds only plain data and tensors (the model's registry name and parameters, the data
shape, and one state dict per network), so it loads with ``torch.load(weights_only=True)``: a
checkpoint from elsewhere can never run code when it is opened. A trial trained with remedies that
change its networks (spectral norm's parametrization of the discriminator) also names its remedies,
which rebuild those networks before their weights are loaded; an EMA trial's generator holds the
average, the weights that were evaluated.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import torch
from torch import nn

from genbench.errors import GenbenchError
from genbench.registry import import_object, is_user_reference
from genbench.spec import ComponentSpec
from genbench.weights_files import weights_only_reason

CHECKPOINT_VERSION = 1


def networks_of(parts: Any) -> dict[str, nn.Module]:
    """The modules of a built model (generator, discriminator, encoder, ...), by field name."""
    return {
        field.name: getattr(parts, field.name)
        for field in dataclasses.fields(parts)
        if isinstance(getattr(parts, field.name), nn.Module)
    }


def checkpoint_bytes(
    parts: Any, model_spec: dict[str, Any], data_shape: tuple[int, ...], remedies: list[dict[str, Any]]
) -> bytes:
    """Serialise a trained model; the store writes the bytes atomically beside the record.
    ``remedies`` (resolved specs) are stored only when there are any, so a checkpoint without them
    is what it was before remedies existed."""
    payload = {
        "genbench_checkpoint": CHECKPOINT_VERSION,
        "model": model_spec,
        "data_shape": list(data_shape),
        "state_dicts": {name: module.state_dict() for name, module in networks_of(parts).items()},
    }
    if remedies:
        payload["remedies"] = remedies
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def load_checkpoint(path: str, data_shape: tuple[int, ...]) -> Any:
    """Rebuild the checkpointed model through its registry entry and load its weights."""
    from genbench.catalog import MODELS
    from genbench.remedies.base import build_remedies

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise GenbenchError(
            f"{path} is not a loadable genbench checkpoint: {weights_only_reason(error)}"
        ) from error
    if not isinstance(payload, dict) or payload.get("genbench_checkpoint") != CHECKPOINT_VERSION:
        raise GenbenchError(f"{path} is not a genbench checkpoint (version {CHECKPOINT_VERSION})")
    if tuple(payload["data_shape"]) != tuple(data_shape):
        raise GenbenchError(
            f"{path} was trained on data of shape {tuple(payload['data_shape'])}, "
            f"the suite's dataset has shape {tuple(data_shape)}"
        )
    name, params = payload["model"]["name"], payload["model"]["params"]
    factory = import_object(name) if is_user_reference(name) else MODELS.get(name).load()
    parts = factory(tuple(data_shape), **params)
    remedies = [ComponentSpec.model_validate(remedy) for remedy in payload.get("remedies", [])]
    for remedy in build_remedies(remedies):
        # the seed only draws initial values that the loaded state replaces
        remedy.prepare_member(parts, seed=0)
    for network, module in networks_of(parts).items():
        module.load_state_dict(payload["state_dicts"][network])
    return parts
