"""Weights files a suite names (pretrained generators, feature extractors), vetted before use.

``torch.load(weights_only=True)`` opens tensors and plain containers only; a file that needs more
unpickles arbitrary objects and so can run arbitrary code when it is opened. Such files are refused
when the suite is validated, before anything trains, and again by the loaders at run time (the file
may have changed since). torch's own message advises retrying with ``weights_only=False``, the
unsafe action: it is never passed on. torch is imported only when a file is vetted.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from genbench.settings import short


def plain_weights_file(path: str) -> str:
    """``path`` if ``torch.load(path, weights_only=True)`` opens it (tensors and plain containers
    only), else a ValueError that says what to save instead.

    A file that needs ``weights_only=False`` unpickles arbitrary objects and so can run arbitrary
    code when it is opened; it is refused when the suite is validated, before anything trains.
    torch is imported here, only for a suite that names such a file.
    """
    file = Path(path)
    reason = weights_only_failure(str(file), file.stat().st_size, file.stat().st_mtime_ns)
    if reason is not None:
        raise ValueError(
            f"{short(str(file))} does not open as plain tensors with torch.load(weights_only=True) "
            f"({reason}), and a file that needs more can run arbitrary code when it is opened. Save "
            "the weights as plain tensors: torch.save(model.state_dict(), path) (a pretrained "
            "generator may also be saved whole with torch.export, format: export)"
        )
    return path


@lru_cache(maxsize=64)
def weights_only_failure(path: str, size: int, mtime_ns: int) -> str | None:
    """Why ``torch.load(weights_only=True)`` refuses the file (None: it opens); cached per file
    version, so a grid does not reopen one file for every trial."""
    import torch

    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        return weights_only_reason(error)
    return None


def weights_only_reason(error: Exception) -> str:
    """torch's reason for refusing a file under ``weights_only=True``, without the advice around it:
    torch suggests retrying with ``weights_only=False`` or allowlisting the file's classes, which
    would run whatever the file holds. Also for the run-time loaders' messages."""
    text = str(error)
    marker = "WeightsUnpickler error:"
    if marker in text:
        text = text.split(marker, 1)[1]
        text = text.split(" Please use", 1)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    detail = lines[0] if lines else ""
    if "weights_only" in detail:
        detail = ""
    name = type(error).__name__
    return short(f"{name}: {detail}" if detail else name)
