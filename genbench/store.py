"""The results layout and its atomic writes; reading records back as DataFrames.

Layout of one run (``results/<suite>/<run-id>/`` by default)::

    suite.yaml                  the suite file as it was run
    run.json                    suite name, description, content hash, grid keys, trial ids
    results.csv                 one row per trial: grid labels, flattened grid columns, status, metrics
    trials/<trial-id>/
        record.json             a TrialRecord (spec, status, final metrics, timings, environment)
        curves.csv              step, metric, value at every evaluation (metrics and stability signals)
        samples.npy             the final evaluation's generated samples (first 2,000), for figures
        mode_centres.npy        the true mode centres of a 2-D mixture, for figures
        checkpoint.pt           the trained model (genbench.models.checkpoint), loadable by a suite
                                as {name: pretrained, params: {format: checkpoint, path: ...}}

Every file is written to a temporary name in the same folder and renamed into place, so a crash
never leaves a half-written record; a record's presence means the trial is done. Torch-free.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genbench.errors import GenbenchError
from genbench.records import DONE_STATUSES, CurvePoint, TrialRecord

RECORD_FILE = "record.json"
CURVES_FILE = "curves.csv"
SAMPLES_FILE = "samples.npy"
MODE_CENTRES_FILE = "mode_centres.npy"
CHECKPOINT_FILE = "checkpoint.pt"
RUN_FILE = "run.json"
SUITE_FILE = "suite.yaml"
RESULTS_FILE = "results.csv"
TRIALS_DIR = "trials"
CURVE_COLUMNS = ["step", "metric", "value"]


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


class RunStore:
    """Reads and writes one run folder."""

    def __init__(self, run_dir: Path | str) -> None:
        self.run_dir = Path(run_dir)

    def trial_dir(self, trial_id: str) -> Path:
        return self.run_dir / TRIALS_DIR / trial_id

    def write_run_info(self, suite_text: str, run_info: dict[str, Any]) -> None:
        write_text_atomically(self.run_dir / SUITE_FILE, suite_text)
        write_json_atomically(self.run_dir / RUN_FILE, run_info)

    def run_info(self) -> dict[str, Any]:
        path = self.run_dir / RUN_FILE
        if not path.is_file():
            raise GenbenchError(f"{self.run_dir} is not a genbench run folder (no {RUN_FILE})")
        return json.loads(path.read_text())

    def write_trial(
        self,
        record: TrialRecord,
        curves: Iterable[CurvePoint] = (),
        samples: np.ndarray | None = None,
        mode_centres: np.ndarray | None = None,
        checkpoint: bytes | None = None,
    ) -> None:
        """Write curves and arrays first and the record last: the record marks the trial done."""
        directory = self.trial_dir(record.id)
        frame = pd.DataFrame([point.model_dump() for point in curves], columns=CURVE_COLUMNS)
        write_atomically(directory / CURVES_FILE, lambda file: frame.to_csv(file, index=False))
        for name, array in ((SAMPLES_FILE, samples), (MODE_CENTRES_FILE, mode_centres)):
            if array is not None:
                write_atomically(directory / name, lambda file, a=array: np.save(file, a), "wb")
        if checkpoint is not None:
            write_atomically(directory / CHECKPOINT_FILE, lambda file: file.write(checkpoint), "wb")
        write_text_atomically(directory / RECORD_FILE, record.model_dump_json(indent=2) + "\n")

    def record(self, trial_id: str) -> TrialRecord | None:
        path = self.trial_dir(trial_id) / RECORD_FILE
        if not path.is_file():
            return None
        return TrialRecord.model_validate_json(path.read_text())

    def is_done(self, trial_id: str) -> bool:
        record = self.record(trial_id)
        return record is not None and record.status in DONE_STATUSES

    def records(self) -> list[TrialRecord]:
        """The records of the suite's trials (run.json's trial ids), in the suite's order.

        A folder reused for an edited suite keeps the records of trials the suite no longer has;
        they stay on disk (a later edit back may resume them) but are not part of this run.
        """
        trial_ids = self.run_info()["trial_ids"]
        return [record for tid in trial_ids if (record := self.record(tid)) is not None]

    def curves(self, trial_id: str) -> pd.DataFrame:
        path = self.trial_dir(trial_id) / CURVES_FILE
        if not path.is_file():
            return pd.DataFrame(columns=CURVE_COLUMNS)
        return pd.read_csv(path)

    def samples(self, trial_id: str) -> np.ndarray | None:
        path = self.trial_dir(trial_id) / SAMPLES_FILE
        return np.load(path) if path.is_file() else None

    def mode_centres(self, trial_id: str) -> np.ndarray | None:
        path = self.trial_dir(trial_id) / MODE_CENTRES_FILE
        return np.load(path) if path.is_file() else None

    def results_frame(self) -> pd.DataFrame:
        """One row per trial: id, grid labels, flattened grid columns, status, metrics, timings."""
        grid_keys = self.run_info().get("grid_keys", [])
        rows = [results_row(record, grid_keys) for record in self.records()]
        return pd.DataFrame(rows)

    def curves_frame(self) -> pd.DataFrame:
        """All curves of the run in long form, with the trial id, grid labels and status as columns."""
        frames = []
        for record in self.records():
            curves = self.curves(record.id)
            curves.insert(0, "trial", record.id)
            for key, label in record.grid.items():
                curves[key] = label
            curves["seed"] = record.spec.get("seed")
            curves["status"] = record.status.value
            frames.append(curves)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def write_results_table(self) -> Path:
        path = self.run_dir / RESULTS_FILE
        frame = self.results_frame()
        write_atomically(path, lambda file: frame.to_csv(file, index=False))
        return path


def results_row(record: TrialRecord, grid_keys: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"trial": record.id}
    row.update({key: record.grid.get(key) for key in grid_keys})
    row.update(record.grid_columns)
    row["status"] = record.status.value
    row.update(record.metrics)
    row["diverged_step"] = record.diverged_step
    row["error"] = record.error
    row.update(record.timings)
    return row
