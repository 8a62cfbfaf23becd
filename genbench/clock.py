"""The times genbench writes: ISO 8601 in UTC to the second in records and run files, and a compact
UTC stamp in the names of files set aside. One clock, so every file of a run reads alike."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    """``2026-12-03T17:00:07+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def utc_stamp() -> str:
    """``20261203T170007.123456Z``: sortable, safe in a file name, unique within a process."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
