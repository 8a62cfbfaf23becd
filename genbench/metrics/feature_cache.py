"""On-disk cache of reference-set features, so a second evaluation extracts only generated ones.

torch-fidelity's own cache names an entry by input name and extractor name only, ignoring the
weights, the sample count and the seed the reference set was drawn with. genbench keys its entries
on everything the features depend on: the extractor, the weights file's sha256, the layers, the
torch-fidelity version and the sha256 of the reference images themselves (uint8 bytes and shape),
which stand for the dataset, its parameters, the sample count and the seed at once, exactly.

The cache lives in ``$GENBENCH_CACHE/features`` (default ``~/.cache/genbench/features``); entries
are written atomically, hold only tensors and strings, and load with ``weights_only=True``. Deleting
the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from genbench.atomic import write_atomically

CACHE_ENV = "GENBENCH_CACHE"
CACHE_FORMAT = 1


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV, "~/.cache/genbench")).expanduser()


def images_sha256(images: torch.Tensor) -> str:
    """Hash of a uint8 image tensor's shape and bytes."""
    digest = hashlib.sha256(repr(tuple(images.shape)).encode())
    digest.update(images.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def cache_key(**fields: Any) -> str:
    return json.dumps({"format": CACHE_FORMAT, **fields}, sort_keys=True)


def entry_path(key: str) -> Path:
    return cache_root() / "features" / f"{hashlib.sha256(key.encode()).hexdigest()}.pt"


def load_features(key: str) -> dict[str, torch.Tensor] | None:
    """The cached features for ``key``, or None when there are none (or only a hash collision)."""
    path = entry_path(key)
    if not path.is_file():
        return None
    entry = torch.load(path, map_location="cpu", weights_only=True)
    return entry["features"] if entry["key"] == key else None


def save_features(key: str, features: dict[str, torch.Tensor]) -> None:
    entry = {"key": key, "features": {name: value.cpu() for name, value in features.items()}}
    write_atomically(entry_path(key), lambda file: torch.save(entry, file), "wb")
