"""Value objects that cross the historian's boundary: samples, events, stored rows, configuration."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Event",
    "ForwardConfig",
    "HistorianConfig",
    "HistorianError",
    "QuarantineEntry",
    "Sample",
    "StoredEvent",
    "StoredSample",
    "TagInfo",
]


class HistorianError(Exception):
    """A historian problem the caller can act on (bad database, bad configuration, unknown entry)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One value of one tag at one time, as handed to :meth:`Historian.record`."""

    tag: str  # unique tag name, e.g. "SEP-V100.inlet_pressure"
    time: float  # Unix seconds (simulated time when fed by the emulator)
    value: float
    status: int = 0  # OPC UA StatusCode (uint32)

    def __post_init__(self) -> None:
        if not self.tag:
            raise HistorianError("sample tag must be a non-empty string")
        if not math.isfinite(self.time):
            raise HistorianError(f"sample time must be finite (got {self.time!r})")
        if not 0 <= self.status <= 0xFFFFFFFF:
            raise HistorianError(f"sample status must be a uint32 (got {self.status!r})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something that happened: an alarm transition, a ground-truth fault, an applied command."""

    time: float
    kind: str  # e.g. "alarm", "fault_start", "command"
    source: str  # tag, signal or alarm id the event concerns
    data: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable details


@dataclass(frozen=True, slots=True, kw_only=True)
class TagInfo:
    """Tag metadata kept in the ``tags`` table (forward topics use ``device``)."""

    name: str
    device: str = ""
    unit: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSample:
    seq: int
    tag: str
    time: float
    value: float
    status: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvent:
    id: int
    time: float
    kind: str
    source: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineEntry:
    id: int
    sink: str
    first_seq: int
    last_seq: int
    rows: int
    attempts: int
    error: str
    state: str  # "held" or "retry"
    created: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HistorianConfig:
    """Store and writer settings. ``commit_interval`` bounds what a crash can lose."""

    batch_size: int = 500  # rows queued that trigger a commit (size trigger)
    commit_interval: float = 1.0  # s since the oldest uncommitted row (time trigger)
    queue_size: int = 100_000  # in-memory rows; when full the oldest is dropped and counted
    max_rows_per_commit: int = 50_000  # one transaction never holds more than this
    retention_hours: float = 24.0  # CLEANUP_HOURS: rows older than this AND forwarded are deleted
    max_db_bytes: int = 1_000_000_000  # oldest rows dropped (counted) above this
    maintenance_interval: float = 10.0  # s between retention / size-cap passes
    delete_batch: int = 5_000  # rows per delete transaction (keeps writer pauses short)
    vacuum_pages: int = 2_000  # pages reclaimed per incremental_vacuum step
    retry_min: float = 0.1  # s: first wait after a failed commit (disk full, I/O error, locked)
    retry_max: float = 1.0  # s: longest wait between retries, so writing resumes soon after the cause goes
    full_check_bytes: int = 1 << 30  # PRAGMA quick_check before opening below this; above, in the background

    def __post_init__(self) -> None:
        for name in (
            "batch_size",
            "queue_size",
            "max_rows_per_commit",
            "max_db_bytes",
            "delete_batch",
            "vacuum_pages",
        ):
            if getattr(self, name) < 1:
                raise HistorianError(f"{name} must be >= 1 (got {getattr(self, name)!r})")
        for name in ("commit_interval", "retention_hours", "maintenance_interval"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise HistorianError(f"{name} must be a positive number (got {v!r})")


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardConfig:
    """Forwarder settings (per sink)."""

    batch_rows: int = 2_000  # samples per forwarded batch (one message per device)
    poll_interval: float = 0.1  # s between looks at the store when idle
    backfill_rate: float = 50_000.0  # samples/s for backlog after an outage (live data is not limited)
    live_split_rows: int = 10_000  # a backlog larger than this on (re)connect is drained as backfill
    max_attempts: int = 5  # a batch failing this often (while connected) goes to quarantine
    backoff_initial: float = 0.5  # s
    backoff_max: float = 30.0  # s
    publish_timeout: float = 10.0  # s to wait for the broker's acknowledgements of one batch
    max_backlog_age: float = 300.0  # s; /health fails while the oldest unforwarded sample is older
    gauge_interval: float = 0.5  # s between backlog gauge refreshes from the store (also while offline)

    def __post_init__(self) -> None:
        if self.batch_rows < 1 or self.max_attempts < 1 or self.live_split_rows < 1:
            raise HistorianError("batch_rows, live_split_rows and max_attempts must be >= 1")
        for name in ("poll_interval", "backfill_rate", "backoff_initial", "backoff_max", "publish_timeout",
                     "max_backlog_age", "gauge_interval"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise HistorianError(f"{name} must be a positive number (got {v!r})")
        if self.backoff_max < self.backoff_initial:
            raise HistorianError("backoff_max must be >= backoff_initial")
