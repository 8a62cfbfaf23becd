"""The identity of the code that computes a trial's result, so that resume never reuses results
of other code.

A trial id hashes the trial's spec only: two versions of genbench (or of a user's loss) that train
the same spec differently give the same id. Every record therefore also carries the identity of
the code that produced it: genbench's version and a hash of its source files, and, for every user
module the trial names (``my_pkg.losses:factory``), a hash of that module's source. Resume reuses
a record only when its identity equals the current one.

A user module inside a package is identified by all the source files of its top-level package, so
that an edit to a helper module it imports counts too; a module installed from a distribution
(site-packages) is identified by the distribution's name and version instead of by hashing it.
Torch-free.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

import genbench
from genbench.registry import is_user_reference

INSTALLED_MARKERS = ("site-packages", "dist-packages")


class CodeIdentity(BaseModel):
    """What a record's numbers were computed by; two equal identities ran the same code."""

    model_config = ConfigDict(frozen=True)

    genbench_version: str
    genbench_source: str
    #: module name -> hash of its package's source, or ``dist==version`` for an installed one
    user_modules: dict[str, str] = {}

    def differences(self, other: CodeIdentity) -> list[str]:
        """What changed from ``other`` to ``self``, in words, for messages."""
        changes = []
        if self.genbench_version != other.genbench_version:
            changes.append(f"genbench {other.genbench_version} -> {self.genbench_version}")
        if self.genbench_source != other.genbench_source:
            changes.append("genbench's source changed")
        for module in sorted(set(self.user_modules) | set(other.user_modules)):
            if self.user_modules.get(module) != other.user_modules.get(module):
                changes.append(f"{module} changed")
        return changes


def hash_sources(files: Iterable[Path], root: Path) -> str:
    """SHA-256 over the files' paths (relative to ``root``) and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def python_sources(root: Path) -> list[Path]:
    return [path for path in root.rglob("*.py") if "__pycache__" not in path.parts]


@lru_cache(maxsize=1)
def genbench_source_hash() -> str:
    package = Path(genbench.__file__).parent
    return hash_sources(python_sources(package), package)


def module_identity(module_name: str) -> str:
    """Hash of the source of ``module_name``'s top-level package (or of the module's own file)."""
    top_level = module_name.split(".")[0]
    try:
        spec = importlib.util.find_spec(top_level)
    except (ImportError, ValueError):
        spec = None  # the trial itself will fail to import it, with a clear error
    if spec is None or spec.origin in (None, "built-in", "frozen"):
        return "unknown (no source file)"
    origin = Path(spec.origin)
    if any(marker in origin.parts for marker in INSTALLED_MARKERS):
        distributions = importlib.metadata.packages_distributions().get(top_level, [top_level])
        try:
            return f"{distributions[0]}=={importlib.metadata.version(distributions[0])}"
        except importlib.metadata.PackageNotFoundError:
            pass
    if spec.submodule_search_locations:
        root = origin.parent
        return hash_sources(python_sources(root), root)
    return hash_sources([origin], origin.parent)


def user_references(value: Any) -> set[str]:
    """Every ``package.module:attribute`` named anywhere in a spec (components and factories)."""
    if isinstance(value, dict):
        return set().union(*(user_references(item) for item in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(user_references(item) for item in value)) if value else set()
    if isinstance(value, str) and is_user_reference(value) and "/" not in value and " " not in value:
        return {value}
    return set()


def code_identities(specs: Iterable[dict[str, Any]]) -> list[CodeIdentity]:
    """The identity of the code that runs each trial whose spec (as JSON data) is given.

    Each user module is hashed once per call and never cached across calls: a user may edit a
    module between two runs in one process.
    """
    modules_of = [sorted({ref.partition(":")[0] for ref in user_references(spec)}) for spec in specs]
    hashes = {module: module_identity(module) for modules in modules_of for module in modules}
    return [
        CodeIdentity(
            genbench_version=genbench.__version__,
            genbench_source=genbench_source_hash(),
            user_modules={module: hashes[module] for module in modules},
        )
        for modules in modules_of
    ]
