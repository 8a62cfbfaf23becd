"""Atomic writes: a file appears complete or not at all.

Every file genbench writes (records, curves, reports, baselines, cached features) goes to a
temporary name in the same folder, is flushed to disk, and is renamed into place, so a crash or an
interrupted run never leaves a half-written file that a later reader would trust. Torch-free.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomically(path: Path, write: Any, mode: str = "w") -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    # mkstemp creates the file private (0600); results are shared like any file the user writes
    os.chmod(temporary, 0o666 & ~current_umask())
    try:
        with os.fdopen(handle, mode) as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomically(path: Path, text: str) -> None:
    write_atomically(path, lambda file: file.write(text))


def write_json_atomically(path: Path, payload: Any) -> None:
    write_text_atomically(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")
