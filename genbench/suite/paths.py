"""Key paths into a suite file, and a problem found at one.

A path is the keys and list indices from the top of the file (``("grid", "loss", 2)``) or of one
trial (``("train", "steps")``). The grid expansion and the cross-checks report what is wrong at a
trial path with a ``SuiteProblem``; the loader, which alone knows the lines of the file and which
grid value each trial holds, turns it into the ``SuiteError`` that names file, line and key.
"""

from __future__ import annotations

from genbench.settings import short

Path_ = tuple[str | int, ...]


class SuiteProblem(Exception):
    """What is wrong in a suite, at the trial (or file) path it is about; the loader places it."""

    def __init__(self, path: Path_, problem: str) -> None:
        super().__init__(problem)
        self.path, self.problem = path, problem


def dotted(path: Path_) -> str:
    """``("grid", "loss", 2)`` -> ``grid.loss[2]``, each key cut short: a key is echoed in errors."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{short(str(part))}" if text else short(str(part))
    return text
