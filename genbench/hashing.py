"""Content hashes of files, the identity of weights in trial ids and metric protocols (torch-free)."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """SHA-256 of the file's bytes, read in 1 MiB blocks.

    Cached per (path, size, modification time): a suite whose grid puts one weights file into many
    trials hashes it once, while a rewritten file is hashed again.
    """
    stat = os.stat(path)
    return _hash_file(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _hash_file(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()
