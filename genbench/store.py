"""The results layout and its atomic writes; reading records back as DataFrames.

Layout of one run (``results/<suite>/<run-id>/`` by default)::

    suite.yaml                  the suite file as it was run
    run.json                    suite name, description, content hash, grid keys, trial ids
    .run.lock                   the lock a `genbench run` holds while it runs (genbench.runner.lock)
    .run.holder.json            who holds it: host, pid, start time (removed on release)
    results.csv                 one row per trial: grid labels, flattened grid columns, status, metrics
    trials/<trial-id>/
        record.json             a TrialRecord (spec, status, final metrics, timings, environment)
        curves.csv              step, metric, value at every evaluation (metrics and stability signals)
        samples.npy             the final evaluation's generated samples (first 2,000), for figures
        mode_centres.npy        the true mode centres of a 2-D mixture, for figures
        checkpoint.pt           the trained model (genbench.models.checkpoint), loadable by a suite
                                as {name: pretrained, params: {format: checkpoint, path: ...}}
        training_state.pt       while a trial with train.checkpoint_every trains (or after it failed):
                                its full training state, from which a rerun continues
                                (genbench.train.training_state); removed once its record is written

Every file is written to a temporary name in the same folder and renamed into place, so a crash
never leaves a half-written record; a record's presence means the trial is done. Files damaged
afterwards (a disk filling up, a copy cut short, a stray edit) are never trusted: reading one
raises ``DamagedFile`` naming it, read-only commands refuse the run or list the trial, and
``set_aside`` moves the trial's folder to ``damaged/`` (never deleting it) so that a rerun redoes
the trial. Torch-free.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.lib.format as npy
import pandas as pd
from pydantic import ValidationError

import genbench
from genbench.atomic import write_atomically, write_text_atomically
from genbench.clock import utc_stamp
from genbench.errors import GenbenchError
from genbench.records import CurvePoint, RunInfo, TrialRecord

RECORD_FILE = "record.json"
CURVES_FILE = "curves.csv"
SAMPLES_FILE = "samples.npy"
MODE_CENTRES_FILE = "mode_centres.npy"
CHECKPOINT_FILE = "checkpoint.pt"
TRAINING_STATE_FILE = "training_state.pt"
RUN_FILE = "run.json"
SUITE_FILE = "suite.yaml"
RESULTS_FILE = "results.csv"
TRIALS_DIR = "trials"
LOCK_FILE = ".run.lock"
HOLDER_FILE = ".run.holder.json"
DAMAGED_DIR = "damaged"
CURVE_COLUMNS = ["step", "metric", "value"]
CURVE_TYPES = {"step": "int64", "metric": "str", "value": "float64"}
CURVE_HEADER = ",".join(CURVE_COLUMNS)
#: what to do about a damaged trial file, said in every message about one
RERUN_ADVICE = "`genbench run` of the suite into this folder sets the trial aside and runs it again"
#: longest parser message quoted in a DamagedFile (random bytes can make a long one)
MOST_QUOTED = 200


class DamagedFile(GenbenchError):
    """A file of a run folder that exists but cannot be what genbench wrote there.

    ``path`` is the file, ``problem`` what is wrong with it; the message says both and what to do.
    """

    def __init__(self, path: Path, problem: str, advice: str = RERUN_ADVICE) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path} is damaged ({problem}); {advice}")


def make_run_folder(run_dir: Path) -> None:
    """Create the run folder (and its parents) where there is none; ``GenbenchError`` for a file
    in its place or a folder that cannot be made."""
    if run_dir.exists() and not run_dir.is_dir():
        raise GenbenchError(f"{run_dir} is a file, not a folder; pass --out a new or existing run folder")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GenbenchError(f"cannot create the run folder {run_dir}: {error.strerror}") from None


@dataclass(frozen=True)
class LoadedRecords:
    """A run's readable records, in the suite's order, and the trials whose files are damaged."""

    records: list[TrialRecord]
    #: trial id -> its (first) damaged file
    damaged: dict[str, DamagedFile]


class RunStore:
    """Reads and writes one run folder."""

    def __init__(self, run_dir: Path | str) -> None:
        self.run_dir = Path(run_dir)

    def trial_dir(self, trial_id: str) -> Path:
        return self.run_dir / TRIALS_DIR / trial_id

    def write_run_info(self, suite_text: str, run_info: RunInfo) -> None:
        write_text_atomically(self.run_dir / SUITE_FILE, suite_text)
        write_text_atomically(self.run_dir / RUN_FILE, run_info.model_dump_json(indent=2) + "\n")

    def run_info(self) -> RunInfo:
        """run.json; ``DamagedFile`` when it is not what this genbench writes there (damaged, edited
        by hand, or written by another version)."""
        path = self.run_dir / RUN_FILE
        if not path.is_file():
            raise GenbenchError(f"{self.run_dir} is not a genbench run folder (no {RUN_FILE})")
        advice = "run the suite again into this folder with `genbench run`, which rewrites it"
        info = read_json(path, advice)
        if not isinstance(info, dict):
            raise DamagedFile(path, f"a JSON {type(info).__name__}, not an object", advice)
        try:
            return RunInfo.model_validate(info)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(map(str, first["loc"])) or "the top level"
            problem = f"not a run record of genbench {genbench.__version__}: {where}: {first['msg']}"
            raise DamagedFile(path, problem, advice) from None

    def write_trial(
        self,
        record: TrialRecord,
        curves: Iterable[CurvePoint] = (),
        samples: np.ndarray | None = None,
        mode_centres: np.ndarray | None = None,
        checkpoint: bytes | None = None,
    ) -> None:
        """Write curves and arrays first and the record last: the record marks the trial done.

        A trial run again (it failed, or its record came from other code) replaces its folder's
        content: the old record goes first, and files the new result lacks (samples and checkpoint
        of a trial that now diverges) are removed, so no old sample or checkpoint sits beside the
        new record as if it were its own.
        """
        directory = self.trial_dir(record.id)
        (directory / RECORD_FILE).unlink(missing_ok=True)
        frame = pd.DataFrame([point.model_dump() for point in curves], columns=CURVE_COLUMNS)
        write_atomically(directory / CURVES_FILE, lambda file: frame.to_csv(file, index=False))
        for name, array in ((SAMPLES_FILE, samples), (MODE_CENTRES_FILE, mode_centres)):
            if array is not None:
                write_atomically(directory / name, lambda file, a=array: np.save(file, a), "wb")
            else:
                (directory / name).unlink(missing_ok=True)
        if checkpoint is not None:
            write_atomically(directory / CHECKPOINT_FILE, lambda file: file.write(checkpoint), "wb")
        else:
            (directory / CHECKPOINT_FILE).unlink(missing_ok=True)
        write_text_atomically(directory / RECORD_FILE, record.model_dump_json(indent=2) + "\n")

    def record(self, trial_id: str) -> TrialRecord | None:
        """The trial's record; None when it has none yet. ``DamagedFile`` when the record is not
        a valid TrialRecord of this trial (a record copied into another trial's folder included)."""
        path = self.trial_dir(trial_id) / RECORD_FILE
        if not path.is_file():
            return None
        try:
            record = TrialRecord.model_validate(read_json(path))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(map(str, first["loc"])) or "the top level"
            raise DamagedFile(path, f"not a trial record: {where}: {first['msg']}") from None
        if record.id != trial_id:
            raise DamagedFile(path, f"it holds the record of trial {record.id}, not of {trial_id}")
        return record

    def check_trial_files(self, trial_id: str) -> None:
        """Raise ``DamagedFile`` when the trial's curves or arrays are not what the store writes.

        Cheap enough to call on every recorded trial at resume: the curves are parsed (a few
        kilobytes) but the arrays only have their header read and their size compared with it.
        """
        directory = self.trial_dir(trial_id)
        self.curves(trial_id)
        for name in (SAMPLES_FILE, MODE_CENTRES_FILE):
            if (directory / name).is_file():
                check_array_file(directory / name)

    def intact_record(self, trial_id: str) -> TrialRecord | None:
        """The trial's record once every file of the trial has been checked; None without one,
        ``DamagedFile`` when any of them is damaged."""
        record = self.record(trial_id)
        if record is not None:
            self.check_trial_files(trial_id)
        return record

    def set_aside(self, trial_id: str) -> Path:
        """Move the trial's folder to ``damaged/<trial-id>.<UTC time>`` (never deleting anything,
        so the files stay for inspection) and return its new path."""
        return self.move_aside(self.trial_dir(trial_id))

    def set_aside_run_info(self) -> Path:
        """Move a damaged ``run.json`` to ``damaged/run.json.<UTC time>``, like a damaged trial."""
        return self.move_aside(self.run_dir / RUN_FILE)

    def move_aside(self, path: Path) -> Path:
        target = self.run_dir / DAMAGED_DIR / f"{path.name}.{utc_stamp()}"
        target.parent.mkdir(parents=True, exist_ok=True)
        # rename, not replace: an existing file or folder of that name is an error, never overwritten
        path.rename(target)
        return target

    def load_records(self) -> LoadedRecords:
        """The records of the suite's trials (run.json's trial ids), in the suite's order, and the
        recorded trials with a damaged file, which are left out of the records.

        A folder reused for an edited suite keeps the records of trials the suite no longer has;
        they stay on disk (a later edit back may resume them) but are not part of this run.
        """
        records, damaged = [], {}
        for trial_id in self.run_info().trial_ids:
            try:
                record = self.intact_record(trial_id)
            except DamagedFile as damage:
                damaged[trial_id] = damage
                continue
            if record is not None:
                records.append(record)
        return LoadedRecords(records, damaged)

    def records(self) -> list[TrialRecord]:
        """The records of the suite's trials; ``DamagedFile`` (the first) when a trial is damaged,
        since a summary of the rest would silently be one of a partial run."""
        loaded = self.load_records()
        if loaded.damaged:
            raise next(iter(loaded.damaged.values()))
        return loaded.records

    def curves(self, trial_id: str) -> pd.DataFrame:
        """The trial's curves (empty without a curves file); ``DamagedFile`` when it is not the
        complete ``step,metric,value`` table the store writes."""
        path = self.trial_dir(trial_id) / CURVES_FILE
        if not path.is_file():
            return pd.DataFrame(columns=CURVE_COLUMNS)
        content = path.read_bytes()
        if not content:
            raise DamagedFile(path, "empty file")
        if not content.startswith(f"{CURVE_HEADER}\n".encode()):
            raise DamagedFile(path, f"not a CSV table of {CURVE_HEADER}: its first line is not that header")
        # every line the store writes ends with a newline: a last line without one was cut short
        if not content.endswith(b"\n"):
            raise DamagedFile(path, "cut short: its last line is incomplete")
        try:
            return pd.read_csv(io.BytesIO(content), dtype=CURVE_TYPES, encoding="utf-8")
        except (ValueError, KeyError) as error:
            raise DamagedFile(path, f"not a CSV table of {CURVE_HEADER}: {quoted(error)}") from None

    def samples(self, trial_id: str) -> np.ndarray | None:
        return load_array(self.trial_dir(trial_id) / SAMPLES_FILE)

    def mode_centres(self, trial_id: str) -> np.ndarray | None:
        return load_array(self.trial_dir(trial_id) / MODE_CENTRES_FILE)

    def results_frame(self) -> pd.DataFrame:
        """One row per trial: id, grid labels, flattened grid columns, status, metrics, timings."""
        grid_keys = self.run_info().grid_keys
        rows = [results_row(record, grid_keys) for record in self.records()]
        return pd.DataFrame(rows)

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


def quoted(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= MOST_QUOTED else text[: MOST_QUOTED - 3] + "..."


def read_json(path: Path, advice: str = RERUN_ADVICE) -> Any:
    """The JSON value in ``path``; ``DamagedFile`` when the file is empty or not JSON text."""
    content = path.read_bytes()
    if not content.strip():
        raise DamagedFile(path, "empty file", advice)
    try:
        return json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise DamagedFile(path, "not UTF-8 text", advice) from None
    except json.JSONDecodeError as error:
        raise DamagedFile(path, f"not valid JSON: {quoted(error)}", advice) from None


def check_array_file(path: Path) -> None:
    """Raise ``DamagedFile`` unless ``path`` is a ``.npy`` file of numbers whose size matches its
    header; reads the header only."""
    with path.open("rb") as file:
        start = file.read(len(npy.MAGIC_PREFIX))
        if not start:
            raise DamagedFile(path, "empty file")
        if start != npy.MAGIC_PREFIX:
            raise DamagedFile(path, "not a NumPy .npy file: it does not start with the .npy signature")
        file.seek(0)
        try:
            version = npy.read_magic(file)
            # versions 2.0 and 3.0 differ from 1.0 only in the size of the header's length field
            read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = read(file)
        except (ValueError, OSError, EOFError, SyntaxError) as error:
            raise DamagedFile(path, f"its .npy header is unreadable: {quoted(error)}") from None
        header_size = file.tell()
    if dtype.hasobject:
        raise DamagedFile(path, "it holds Python objects, which genbench never writes")
    expected = math.prod(shape) * dtype.itemsize
    found = path.stat().st_size - header_size
    if found != expected:
        raise DamagedFile(path, f"{found} bytes of data where its header announces {expected}")


def load_array(path: Path) -> np.ndarray | None:
    """The array in a ``.npy`` file (never unpickling anything); None when there is no file."""
    if not path.is_file():
        return None
    check_array_file(path)
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DamagedFile(path, f"not a loadable array: {quoted(error)}") from None
