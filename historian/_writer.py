"""The historian front end: a bounded in-memory queue drained by one writer thread.

``record_*`` never blocks the producer (the scan thread) on the writer or on I/O: rows go into a
``deque(maxlen=queue_size)``, whose append and popleft are atomic, so the writer drains it without
taking the producer's lock. When the queue is full the OLDEST queued row is dropped; its sequence
number becomes a recorded gap (``gaps`` table, reason ``queue_full``) and is counted in
``dropped_queue``, so a reader can tell "dropped by policy" from "lost".

The writer thread commits in batches: as soon as ``batch_size`` rows wait, and otherwise every
``commit_interval`` seconds. A crash (kill -9) can lose only rows not yet committed: at most
``commit_interval`` seconds of data plus the batch being committed. Every committed row survives.

The writer never dies of a SQLite error (disk full, I/O error, database locked): the batch it could
not commit stays in memory and is retried with backoff (``retry_min`` doubling to ``retry_max``)
while the producer keeps queueing; if the outage outlasts the queue, the oldest rows are dropped,
counted at once (``dropped_queue``) and written to the ``gaps`` table when writing resumes, which it
does by itself. ``metrics()`` says whether the writer is failing and why.

At start the database is checked (``PRAGMA quick_check``): in full before opening when it is smaller
than ``full_check_bytes``; above that the writer checks it first and writes nothing until it passes.
A damaged file is never written into.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog

from historian._model import Event, HistorianConfig, HistorianError, Sample, TagInfo
from historian._store import Gap, Store, check_database

__all__ = ["Historian", "HistorianMetrics"]

_log = structlog.get_logger("historian")

Row = tuple[int, int, float, float, int]  # seq, tag_id, time, value, status
EventRow = tuple[float, str, str, str]  # time, kind, source, data (JSON)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistorianMetrics:
    """Plain counters and gauges; the runtime exports them (Prometheus, /health)."""

    queued: int  # rows waiting in memory
    committed_rows: int  # rows committed by this process
    committed_seq: int  # highest committed seq
    dropped_queue: int  # rows dropped because the queue was full (this process, exact: from seq gaps)
    dropped_events: int  # events dropped because the event queue was full (this process)
    commits: int
    last_commit_monotonic: float  # monotonic time of the last commit (0 before the first)
    retention_deleted: int  # rows deleted by retention (this process)
    size_cap_dropped: int  # rows dropped by the size cap (this process)
    db_bytes: int  # used bytes of the database file at the last maintenance pass
    writer_alive: bool
    last_error: str
    writing: bool = True  # False while commits fail (or the start-up check has not passed)
    write_errors: int = 0  # failed commit attempts (this process)
    held: int = 0  # rows of the batch waiting to be retried
    checking: bool = False  # the background quick_check of a large file is running


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
        emulator runs faster than real time); ``monotonic`` paces maintenance."""
        self.path = Path(path)
        self.config = config or HistorianConfig()
        self._clock = clock
        self._mono = monotonic
        self._checked = True
        if self.path.exists() and self.path.stat().st_size > 0:
            if self.path.stat().st_size < self.config.full_check_bytes:
                verdict = check_database(self.path)
                if verdict != "ok":
                    raise HistorianError(_damaged(self.path, verdict))
            else:
                self._checked = False  # the writer checks it before its first write
        try:
            self._store = Store(self.path)
        except sqlite3.DatabaseError as exc:
            raise HistorianError(_damaged(self.path, str(exc))) from None
        if metadata:
            self._store.set_meta(**metadata)
        self._tag_ids = self._store.tag_ids()
        self._next_tag_id = max(self._tag_ids.values(), default=0) + 1
        self._new_tags: list[tuple[int, TagInfo]] = []
        first = self._store.max_seq() + 1
        self._next_seq = first
        self._written_seq = first - 1
        self._q: deque[Row] = deque(maxlen=self.config.queue_size)
        self._events: deque[EventRow] = deque(maxlen=self.config.queue_size)
        self._lock = threading.Lock()  # producers only (seq order, tag registry); never held by I/O
        self._wake = threading.Event()
        self._committed = threading.Condition(threading.Lock())
        self._stop = False
        self._take_gen = 0  # takes started (written by the writer only)
        self._done_gen = 0  # takes finished (under _committed)
        self._maintenance_due = False
        self._dropped_queue = 0
        self._dropped_events = 0
        self._committed_rows = 0
        self._commits = 0
        self._last_commit = 0.0
        self._retention_deleted = 0
        self._size_dropped = 0
        self._db_bytes = self._store.used_bytes()
        self._last_error = ""
        self._held: tuple[list[Row], list[EventRow], list[tuple[int, TagInfo]]] | None = None
        self._failing = False
        self._write_errors = 0
        self._damaged = ""
        self._stop_at: float | None = None
        self._view = threading.Lock()  # writer: pop -> held; metrics(): a consistent count
        self._max_time = self._store.newest_time()
        self._thread = threading.Thread(target=self._run, name="historian[writer]", daemon=True)
        self._thread.start()

    # -- producer side (any thread, never waits for the writer) ----------------------------------
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
        self._wake.set()

    def record(self, sample: Sample) -> None:
        self.record_value(sample.tag, sample.time, sample.value, sample.status)

    def record_value(self, tag: str, t: float, value: float, status: int = 0) -> None:
        """Queue one sample; drops the oldest queued row when the queue is full."""
        self.record_many(((tag, t, value, status),))

    def record_many(self, rows: Iterable[tuple[str, float, float, int]]) -> None:
        """Queue ``(tag, time, value, status)`` rows in order (the scan's fast path)."""
        q = self._q
        with self._lock:
            ids = self._tag_ids
            seq = self._next_seq
            for tag, t, value, status in rows:
                tid = ids.get(tag)
                if tid is None:
                    tid = self._register_locked(tag)
                q.append((seq, tid, t, value, status))
                seq += 1
            self._next_seq = seq
        if len(q) >= self.config.batch_size:
            self._wake.set()

    def record_event(self, event: Event) -> None:
        data = json.dumps(event.data, default=str, sort_keys=True)
        ev = self._events
        if len(ev) == ev.maxlen:
            self._dropped_events += 1
        ev.append((event.time, event.kind, event.source, data))

    def _register_locked(self, tag: str) -> int:
        if not tag:
            raise HistorianError("sample tag must be a non-empty string")
        tid = self._next_tag_id
        self._next_tag_id += 1
        self._tag_ids[tag] = tid
        device = tag.split(".", 1)[0] if "." in tag else ""
        self._new_tags.append((tid, TagInfo(name=tag, device=device)))
        return tid

    # -- control ---------------------------------------------------------------------------------
    def flush(self, timeout: float = 30.0) -> bool:
        """Commit everything queued so far; True once it is committed (False on timeout)."""
        with self._lock:
            target = self._next_seq - 1
        want = self._take_gen + 1
        self._wake.set()
        deadline = time.monotonic() + timeout
        with self._committed:
            while (self._written_seq < target or self._done_gen < want) and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.set()
                self._committed.wait(min(left, 0.5))
        return self._written_seq >= target and self._done_gen >= want

    def close(self, timeout: float = 30.0) -> None:
        """Flush, stop the writer thread and close the database."""
        if not self._thread.is_alive():
            return
        self.flush(min(timeout, 5.0) if self._failing or self._damaged else timeout)
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)

    def __enter__(self) -> Historian:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_maintenance(self) -> None:
        """Ask the writer thread for a retention / size-cap pass now (``flush()`` waits for it)."""
        self._maintenance_due = True
        self._wake.set()

    def metrics(self) -> HistorianMetrics:
        with self._view:
            held = self._held
            n_held = len(held[0]) if held is not None else 0
            queued = len(self._q)
            # rows given a seq but neither committed nor waiting were dropped by the full queue; their
            # gap record is written with the next commit, the count is exact now
            pending_drop = max(0, self._next_seq - 1 - self._written_seq - n_held - queued)
        return HistorianMetrics(
            queued=queued,
            committed_rows=self._committed_rows,
            committed_seq=self._written_seq,
            dropped_queue=self._dropped_queue + pending_drop,
            dropped_events=self._dropped_events,
            commits=self._commits,
            last_commit_monotonic=self._last_commit,
            retention_deleted=self._retention_deleted,
            size_cap_dropped=self._size_dropped,
            db_bytes=self._db_bytes,
            writer_alive=self._thread.is_alive(),
            last_error=self._damaged or self._last_error,
            writing=not (self._failing or self._damaged or not self._checked),
            write_errors=self._write_errors,
            held=n_held,
            checking=not self._checked and not self._damaged,
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
    def _run(self) -> None:
        cfg = self.config
        next_maintenance = self._mono() + cfg.maintenance_interval
        wait = cfg.commit_interval
        retry = cfg.retry_min
        try:
            if not self._checked and not self._background_check():
                return
            while True:
                self._wake.wait(wait)
                self._wake.clear()
                stopping = self._stop
                self._take_gen += 1
                ok = self._drain()
                if ok and (self._maintenance_due or self._mono() >= next_maintenance):
                    self._maintenance_due = False
                    self._guarded(self._maintain)
                    next_maintenance = self._mono() + cfg.maintenance_interval
                with self._committed:
                    self._done_gen += 1
                    self._committed.notify_all()
                if stopping and (ok or self._held is None):
                    break
                if stopping and self._mono() > self._stop_deadline():
                    break
                wait = cfg.commit_interval if ok else retry
                retry = cfg.retry_min if ok else min(retry * 2, cfg.retry_max)
        except Exception as exc:  # the thread must report, not vanish silently
            self._last_error = f"{type(exc).__name__}: {exc}"
            _log.error("historian.writer_failed", error=self._last_error)
            with self._committed:
                self._committed.notify_all()
        finally:
            if self._held is not None or self._q:
                lost = (len(self._held[0]) if self._held else 0) + len(self._q)
                _log.error("historian.unwritten", rows=lost, error=self._last_error)
            self._store.close()

    def _stop_deadline(self) -> float:
        if self._stop_at is None:
            self._stop_at = self._mono() + 5.0
        return self._stop_at

    def _background_check(self) -> bool:
        """Large file: quick_check before the first write; rows wait in memory meanwhile."""
        verdict = self._store.quick_check()
        if verdict != "ok":
            self._damaged = _damaged(self.path, verdict)
            _log.error("historian.damaged", path=str(self.path), check=verdict)
            with self._committed:
                self._committed.notify_all()
            return False
        self._checked = True
        return True

    def _drain(self) -> bool:
        """Commit what is held, then what is queued; False when a commit failed (kept for retry)."""
        limit = self.config.max_rows_per_commit
        while True:
            if self._held is None:
                with self._view:  # metrics() never sees rows between the queue and the held batch
                    rows = self._pop(limit)
                    events = self._pop_events()
                    with self._lock:
                        tags, self._new_tags = self._new_tags, []
                    if not (rows or events or tags):
                        return True
                    self._held = (rows, events, tags)
            rows, events, tags = self._held
            try:
                self._commit(rows, events, tags)
            except (sqlite3.Error, OSError) as exc:
                self._failed(exc)
                return False
            self._held = None
            if self._failing:
                self._failing = False
                _log.info("historian.writing_again", after_errors=self._write_errors)
            if len(rows) < limit:
                return True

    def _failed(self, exc: BaseException) -> None:
        self._write_errors += 1
        self._last_error = f"{type(exc).__name__}: {exc}"
        if not self._failing or self._write_errors % 50 == 0:
            _log.warning("historian.write_failed", error=self._last_error, errors=self._write_errors,
                         held=len(self._held[0]) if self._held else 0, queued=len(self._q))
        self._failing = True

    def _guarded(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)

    def _pop(self, n: int) -> list[Row]:
        q = self._q
        out: list[Row] = []
        pop = q.popleft
        try:
            for _ in range(n):
                out.append(pop())
        except IndexError:
            pass  # drained
        return out

    def _pop_events(self) -> list[EventRow]:
        out: list[EventRow] = []
        try:
            while True:
                out.append(self._events.popleft())
        except IndexError:
            return out

    def _commit(self, rows: list[Row], events: list[EventRow], tags: list[tuple[int, TagInfo]]) -> None:
        gaps: list[Gap] = []
        meta: dict[str, str] = {}
        if rows:
            # seqs in the queue are increasing; any jump is rows the full queue dropped (oldest first)
            expect = self._written_seq + 1
            for r in rows:
                if r[0] != expect:
                    gaps.append(Gap(first_seq=expect, last_seq=r[0] - 1, reason="queue_full", time=r[2]))
                expect = r[0] + 1
            meta["last_seq"] = str(rows[-1][0])
            newest = max(r[2] for r in rows)
            if self._max_time is None or newest > self._max_time:
                meta["max_time"] = repr(newest)
        n = sum(g.count for g in gaps)
        if gaps:
            meta["queue_dropped"] = str(self._store.meta_int("queue_dropped") + n)
        self._store.write_batch(rows, events, tags, gaps, meta)
        if "max_time" in meta:
            self._max_time = float(meta["max_time"])
        with self._view:  # one step for metrics(): the batch leaves "held", its gaps join the count
            self._held = None
            self._dropped_queue += n
            if rows:
                with self._committed:
                    self._written_seq = rows[-1][0]
                    self._committed.notify_all()
        if gaps:
            _log.warning(
                "historian.queue_full",
                dropped=n,
                total=self._dropped_queue,
                queue_size=self.config.queue_size,
            )
        self._commits += 1
        self._committed_rows += len(rows)
        self._last_commit = self._mono()

    def _maintain(self) -> None:
        """Retention then size cap, in small transactions so the writer is never blocked for long."""
        cfg = self.config
        store = self._store
        floor = store.forwarded_floor()
        upto = self._written_seq if floor is None else floor
        before = self._clock() - cfg.retention_hours * 3600.0
        for _ in range(20):  # bounded per pass; the next pass continues
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


def _damaged(path: Path, verdict: str) -> str:
    verdict = " ".join(verdict.replace("*** in database main ***", "").split())  # one line
    return (f"{path} is damaged (quick_check: {verdict[:200]}); it was not written into: start with --repair "
            f"to move it aside and begin a new one")
