"""The historian front end: a bounded in-memory queue drained by one writer thread.

``record`` never blocks the producer (the scan thread): it appends to a bounded deque under a short
lock. When the queue is full the OLDEST queued row is dropped and counted (``dropped_queue``); the
sequence number it had becomes a recorded gap, so a reader can tell "dropped by policy" from "lost".

The writer thread commits in batches: as soon as ``batch_size`` rows wait, or ``commit_interval``
seconds after the oldest waiting row arrived, whichever comes first. A crash (kill -9) can lose only
rows not yet committed: at most ``commit_interval`` seconds of data (plus whatever a full queue was
already dropping). Every committed row survives.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from historian._model import Event, HistorianConfig, HistorianError, Sample, TagInfo
from historian._store import Gap, Store

__all__ = ["Historian", "HistorianMetrics"]

_log = structlog.get_logger("historian")

Row = tuple[int, int, float, float, int]  # seq, tag_id, time, value, status


@dataclass(frozen=True, slots=True, kw_only=True)
class HistorianMetrics:
    """Plain counters and gauges; the runtime exports them (Prometheus, /health)."""

    queued: int  # rows waiting in memory
    committed_rows: int  # rows committed by this process
    committed_seq: int  # highest committed seq
    dropped_queue: int  # rows dropped because the queue was full (this process)
    dropped_events: int  # events dropped because the event queue was full (this process)
    commits: int
    last_commit_monotonic: float  # monotonic time of the last commit (0 before the first)
    retention_deleted: int  # rows deleted by retention (this process)
    size_cap_dropped: int  # rows dropped by the size cap (this process)
    db_bytes: int  # used bytes of the database file at the last maintenance pass
    writer_alive: bool
    last_error: str


class Historian:
    """Store-and-forward historian: ``record`` samples and events; a thread commits them."""

    def __init__(
        self,
        path: str | Path,
        config: HistorianConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """``clock`` gives "now" for retention in the samples' time base (simulated time when the
        emulator runs faster than real time); ``monotonic`` paces commits and maintenance."""
        self.path = Path(path)
        self.config = config or HistorianConfig()
        self._clock = clock
        self._mono = monotonic
        self._store = Store(self.path)
        if metadata:
            self._store.set_meta(**metadata)
        self._tag_ids = self._store.tag_ids()
        self._next_tag_id = max(self._tag_ids.values(), default=0) + 1
        self._new_tags: list[tuple[int, TagInfo]] = []
        self._next_seq = self._store.max_seq() + 1
        self._written_seq = self._next_seq - 1
        self._q: deque[Row] = deque()
        self._events: deque[tuple[float, str, str, str]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._committed = threading.Condition(threading.Lock())
        self._first_queued: float | None = None
        self._flush_requested = 0
        self._take_gen = 0  # takes started (under _lock)
        self._done_gen = 0  # takes committed (under _committed)
        self._stop = False
        self._dropped_queue = 0
        self._dropped_events = 0
        self._committed_rows = 0
        self._commits = 0
        self._last_commit = 0.0
        self._retention_deleted = 0
        self._size_dropped = 0
        self._db_bytes = self._store.used_bytes()
        self._last_error = ""
        self._next_maintenance = self._mono() + self.config.maintenance_interval
        self._thread = threading.Thread(target=self._run, name="historian[writer]", daemon=True)
        self._thread.start()

    # -- producer side (any thread, never blocks on I/O) -----------------------------------------
    def register_tags(self, tags: Iterable[TagInfo]) -> None:
        """Declare tags with their device/unit (optional: unknown tags are registered on first use)."""
        with self._lock:
            for info in tags:
                tid = self._tag_ids.get(info.name)
                if tid is None:
                    tid = self._next_tag_id
                    self._next_tag_id += 1
                    self._tag_ids[info.name] = tid
                self._new_tags.append((tid, info))
            self._wake.notify()

    def record(self, sample: Sample) -> None:
        self.record_value(sample.tag, sample.time, sample.value, sample.status)

    def record_value(self, tag: str, t: float, value: float, status: int = 0) -> None:
        """Queue one sample. Never blocks on I/O; drops the oldest queued row when the queue is full."""
        with self._lock:
            tid = self._tag_ids.get(tag)
            if tid is None:
                tid = self._register_locked(tag)
            self._append_locked((self._next_seq, tid, t, value, status))
            self._next_seq += 1

    def record_many(self, rows: Iterable[tuple[str, float, float, int]]) -> None:
        """Queue ``(tag, time, value, status)`` rows under one lock acquisition (the scan's fast path)."""
        with self._lock:
            ids = self._tag_ids
            for tag, t, value, status in rows:
                tid = ids.get(tag)
                if tid is None:
                    tid = self._register_locked(tag)
                self._append_locked((self._next_seq, tid, t, value, status))
                self._next_seq += 1

    def record_event(self, event: Event) -> None:
        data = json.dumps(event.data, default=str, allow_nan=True, sort_keys=True)
        with self._lock:
            if len(self._events) >= self.config.queue_size:
                self._events.popleft()
                self._dropped_events += 1
            self._events.append((event.time, event.kind, event.source, data))
            if self._first_queued is None:
                self._first_queued = self._mono()
                self._wake.notify()

    def _register_locked(self, tag: str) -> int:
        if not tag:
            raise HistorianError("sample tag must be a non-empty string")
        tid = self._next_tag_id
        self._next_tag_id += 1
        self._tag_ids[tag] = tid
        device = tag.split(".", 1)[0] if "." in tag else ""
        self._new_tags.append((tid, TagInfo(name=tag, device=device)))
        return tid

    def _append_locked(self, row: Row) -> None:
        q = self._q
        if len(q) >= self.config.queue_size:
            q.popleft()
            self._dropped_queue += 1
            if self._dropped_queue == 1 or self._dropped_queue % 10_000 == 0:
                _log.warning(
                    "historian.queue_full", dropped=self._dropped_queue, queue_size=self.config.queue_size
                )
        q.append(row)
        n = len(q)
        if self._first_queued is None:
            self._first_queued = self._mono()
            self._wake.notify()
        elif n == self.config.batch_size:
            self._wake.notify()

    # -- control ---------------------------------------------------------------------------------
    def flush(self, timeout: float = 30.0) -> bool:
        """Commit everything queued so far; True once it is committed (False on timeout)."""
        with self._lock:
            target = self._next_seq - 1
            want = self._take_gen + 1
            self._flush_requested += 1
            self._wake.notify()
        deadline = self._mono() + timeout
        with self._committed:
            while (self._written_seq < target or self._done_gen < want) and self._thread.is_alive():
                left = deadline - self._mono()
                if left <= 0:
                    return False
                self._committed.wait(min(left, 0.5))
        return self._written_seq >= target and self._done_gen >= want

    def close(self, timeout: float = 30.0) -> None:
        """Flush, stop the writer thread and close the database."""
        if not self._thread.is_alive():
            return
        self.flush(timeout)
        with self._lock:
            self._stop = True
            self._wake.notify()
        self._thread.join(timeout)

    def __enter__(self) -> Historian:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_maintenance(self) -> None:
        """Ask the writer thread to run a retention / size-cap pass now."""
        with self._lock:
            self._next_maintenance = -math.inf
            self._wake.notify()

    def metrics(self) -> HistorianMetrics:
        with self._lock:
            queued = len(self._q)
        return HistorianMetrics(
            queued=queued,
            committed_rows=self._committed_rows,
            committed_seq=self._written_seq,
            dropped_queue=self._dropped_queue,
            dropped_events=self._dropped_events,
            commits=self._commits,
            last_commit_monotonic=self._last_commit,
            retention_deleted=self._retention_deleted,
            size_cap_dropped=self._size_dropped,
            db_bytes=self._db_bytes,
            writer_alive=self._thread.is_alive(),
            last_error=self._last_error,
        )

    @property
    def next_seq(self) -> int:
        """The seq the next recorded sample gets."""
        with self._lock:
            return self._next_seq

    @property
    def writer_alive(self) -> bool:
        return self._thread.is_alive()

    # -- writer thread ---------------------------------------------------------------------------
    def _take(self) -> tuple[list[Row], list[tuple[float, str, str, str]], list[tuple[int, TagInfo]], bool]:
        cfg = self.config
        with self._lock:
            while True:
                if self._stop and not self._q and not self._events and not self._new_tags:
                    return [], [], [], True
                now = self._mono()
                due = self._first_queued is not None and now - self._first_queued >= cfg.commit_interval
                if (
                    len(self._q) >= cfg.batch_size
                    or due
                    or self._flush_requested
                    or self._stop
                    or now >= self._next_maintenance
                    or (self._new_tags and not self._q)
                ):
                    break
                wait = self._next_maintenance - now
                if self._first_queued is not None:
                    wait = min(wait, cfg.commit_interval - (now - self._first_queued))
                self._wake.wait(max(wait, 0.001))
            n = min(len(self._q), cfg.max_rows_per_commit)
            rows = [self._q.popleft() for _ in range(n)]
            events = list(self._events)
            self._events.clear()
            tags, self._new_tags = self._new_tags, []
            self._flush_requested = 0 if not self._q else self._flush_requested
            self._first_queued = self._mono() if (self._q or self._events) else None
            self._take_gen += 1
            return rows, events, tags, False

    def _run(self) -> None:
        try:
            while True:
                rows, events, tags, done = self._take()
                if done:
                    break
                if rows or events or tags:
                    self._commit(rows, events, tags)
                if self._mono() >= self._next_maintenance:
                    self._maintain()
                    self._next_maintenance = self._mono() + self.config.maintenance_interval
                with self._committed:
                    self._done_gen += 1
                    self._committed.notify_all()
        except Exception as exc:  # the thread must report, not vanish silently
            self._last_error = f"{type(exc).__name__}: {exc}"
            _log.error("historian.writer_failed", error=self._last_error)
            with self._committed:
                self._committed.notify_all()
        finally:
            self._store.close()

    def _commit(
        self, rows: list[Row], events: list[tuple[float, str, str, str]], tags: list[tuple[int, TagInfo]]
    ) -> None:
        gaps: list[Gap] = []
        if rows and rows[0][0] > self._written_seq + 1:
            gaps.append(
                Gap(
                    first_seq=self._written_seq + 1,
                    last_seq=rows[0][0] - 1,
                    reason="queue_full",
                    time=rows[0][2],
                )
            )
        last = rows[-1][0] if rows else self._written_seq
        meta = {"last_seq": str(last)}
        if gaps:
            meta["queue_dropped"] = str(self._store.meta_int("queue_dropped") + sum(g.count for g in gaps))
        self._store.write_batch(rows, events, tags, gaps, meta)
        self._commits += 1
        self._committed_rows += len(rows)
        self._last_commit = self._mono()
        with self._committed:
            self._written_seq = last
            self._committed.notify_all()

    def _maintain(self) -> None:
        """Retention then size cap, in small transactions so the writer is never blocked for long."""
        cfg = self.config
        store = self._store
        floor = store.forwarded_floor()
        upto = self._written_seq if floor is None else floor
        before = self._clock() - cfg.retention_hours * 3600.0
        # one bounded pass per maintenance tick; the next tick continues where this one stopped
        for _ in range(20):
            n = store.delete_expired(before=before, upto_seq=upto, limit=cfg.delete_batch)
            self._retention_deleted += n
            if n < cfg.delete_batch:
                break
        for _ in range(200):
            if store.used_bytes() <= cfg.max_db_bytes:
                break
            n = store.delete_oldest(limit=cfg.delete_batch, now=self._clock())
            if n == 0:
                break
            self._size_dropped += n
            _log.warning(
                "historian.size_cap", dropped=n, total=self._size_dropped, max_bytes=cfg.max_db_bytes
            )
        if store.free_pages():
            store.incremental_vacuum(cfg.vacuum_pages)
        self._db_bytes = store.used_bytes()

    def store_info(self) -> dict[str, Any]:
        """Facts for logs and health: path, next seq, dropped so far (this process)."""
        return {"path": str(self.path), "next_seq": self._next_seq, "dropped_queue": self._dropped_queue}
