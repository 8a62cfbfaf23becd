"""A loaded suite: the study one suite file states, validated and expanded into its trials."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from genbench.runner.executors.settings import ExecutionSettings
from genbench.settings import CheckSettings, ReportSettings
from genbench.spec import Trial


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    path: Path
    text: str
    grid_keys: tuple[str, ...]
    trials: tuple[Trial, ...]
    report: ReportSettings = field(default_factory=ReportSettings)
    check: CheckSettings = field(default_factory=CheckSettings)
    #: where the trials run: not part of what the suite runs, so not of its hash
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)

    @property
    def content_hash(self) -> str:
        """Hash of what the suite runs (its trials), blind to comments and formatting, and to where
        it runs (``execution``): a run begun with one executor resumes with another."""
        content = json.dumps({"name": self.name, "trials": sorted(t.id for t in self.trials)})
        return hashlib.sha256(content.encode()).hexdigest()[:16]
