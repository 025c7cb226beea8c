"""The SQLite store: schema, batched writes, reads, forward cursors, quarantine, retention.

It only persists; it decides nothing about when to write, forward or drop (the writer thread and the
forwarder do). One :class:`Store` wraps one connection and must be used from one thread at a time;
open one per thread (the writer, the forwarder, a CLI) - WAL mode lets readers run beside the writer.

Durability: ``journal_mode=WAL`` with ``synchronous=NORMAL``. A committed transaction survives the
process being killed (kill -9) at any moment; only an OS crash or power loss can roll back the last
few commits. ``auto_vacuum=INCREMENTAL`` lets retention hand pages back in small steps.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from historian._crash import crash_point
from historian._model import HistorianError, QuarantineEntry, StoredEvent, StoredSample, TagInfo

__all__ = ["Cursor", "Gap", "Store", "check_database", "move_aside", "newest_time"]

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, device TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS samples (
    seq INTEGER PRIMARY KEY, tag_id INTEGER NOT NULL, t REAL NOT NULL, value REAL, status INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS samples_tag_time ON samples (tag_id, t);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_time ON events (t);
CREATE TABLE IF NOT EXISTS cursors (
    sink TEXT PRIMARY KEY, acked INTEGER NOT NULL, live_from INTEGER, live_acked INTEGER,
    updated REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY, sink TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
    rows INTEGER NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT NULL, state TEXT NOT NULL,
    created REAL NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gaps (
    first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, reason TEXT NOT NULL, t REAL NOT NULL);
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Cursor:
    """Forward position of one sink.

    Every seq <= ``acked`` was acknowledged. While a backlog drains beside live data, seqs in
    (``live_from``, ``live_acked``] were acknowledged too, and (``acked``, ``live_from``] is the backfill.
    """

    sink: str
    acked: int
    live_from: int | None = None
    live_acked: int | None = None

    @property
    def head(self) -> int:
        """Highest acknowledged seq."""
        return self.live_acked if self.live_acked is not None else self.acked


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    first_seq: int
    last_seq: int
    reason: str  # "queue_full" or "size_cap"
    time: float

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1


_CHUNK = 4000  # rows per multi-row INSERT: 20,000 parameters, under SQLite's default limit of 32,766
_INSERT_ONE = "INSERT INTO samples VALUES (?, ?, ?, ?, ?)"
_INSERT_CHUNK = "INSERT INTO samples VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * _CHUNK)
_TOKEN = struct.Struct("<dq")


def encode_token(t: float, seq: int) -> bytes:
    """Continuation token of a raw read: the (time, seq) of the last row returned."""
    return _TOKEN.pack(t, seq)


def decode_token(token: bytes) -> tuple[float, int]:
    if len(token) != _TOKEN.size:
        raise HistorianError(f"bad continuation token ({len(token)} bytes, expected {_TOKEN.size})")
    t, seq = _TOKEN.unpack(token)
    return float(t), int(seq)


class Store:
    """One connection to the historian database (created with its schema if absent)."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(
                str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only takes effect on a new file
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise HistorianError(f"{self.path}: could not switch to WAL mode (got {mode})")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA journal_size_limit=67108864")
            self._db.execute("PRAGMA temp_store=MEMORY")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO metadata VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        except sqlite3.DatabaseError as exc:
            raise HistorianError(f"{self.path}: not a usable historian database ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- metadata -------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM metadata WHERE key=?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set_meta(self, **items: str) -> None:
        with self._tx():
            self._db.executemany("INSERT OR REPLACE INTO metadata VALUES (?, ?)", list(items.items()))

    def meta_int(self, key: str) -> int:
        return int(self.get_meta(key, "0") or 0)

    def integrity_check(self) -> str:
        return "; ".join(str(r[0]) for r in self._db.execute("PRAGMA integrity_check").fetchall())

    def quick_check(self) -> str:
        """``ok`` or the first problems PRAGMA quick_check finds (a page-level scan of every b-tree)."""
        try:
            rows = self._db.execute("PRAGMA quick_check(5)").fetchall()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        return "; ".join(str(r[0]) for r in rows)

    def newest_time(self) -> float | None:
        """Newest sample time ever committed (the writer keeps it in metadata; old files: a scan)."""
        kept = self.get_meta("max_time")
        if kept is not None:
            return float(kept)
        row = self._db.execute("SELECT max(t) FROM samples").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    # -- tags -----------------------------------------------------------------------------------
    def tag_ids(self) -> dict[str, int]:
        return {str(n): int(i) for i, n in self._db.execute("SELECT id, name FROM tags")}

    def tag_infos(self) -> dict[int, TagInfo]:
        rows = self._db.execute("SELECT id, name, device, unit, description FROM tags")
        return {int(r[0]): TagInfo(name=r[1], device=r[2], unit=r[3], description=r[4]) for r in rows}

    def upsert_tags(self, tags: Iterable[tuple[int, TagInfo]]) -> None:
        with self._tx():
            self._insert_tags(tags)

    def _insert_tags(self, tags: Iterable[tuple[int, TagInfo]]) -> None:
        self._db.executemany(
            "INSERT INTO tags (id, name, device, unit, description) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET device=excluded.device, unit=excluded.unit, "
            "description=excluded.description",
            [(i, t.name, t.device, t.unit, t.description) for i, t in tags],
        )

    # -- writes ---------------------------------------------------------------------------------
    def write_batch(
        self,
        samples: Sequence[tuple[int, int, float, float, int]],
        events: Sequence[tuple[float, str, str, str]] = (),
        new_tags: Sequence[tuple[int, TagInfo]] = (),
        gaps: Sequence[Gap] = (),
        meta: dict[str, str] | None = None,
    ) -> None:
        """One transaction: new tags, samples ``(seq, tag_id, t, value, status)``, events, gaps."""
        with self._tx():
            if new_tags:
                self._insert_tags(new_tags)
            if samples:
                self._insert_samples(samples)
            if events:
                self._db.executemany("INSERT INTO events (t, kind, source, data) VALUES (?, ?, ?, ?)", events)
            if gaps:
                self._db.executemany(
                    "INSERT INTO gaps VALUES (?, ?, ?, ?)",
                    [(g.first_seq, g.last_seq, g.reason, g.time) for g in gaps],
                )
            if meta:
                self._db.executemany("INSERT OR REPLACE INTO metadata VALUES (?, ?)", list(meta.items()))
            crash_point("historian-commit")

    def _insert_samples(self, samples: Sequence[tuple[int, int, float, float, int]]) -> None:
        # Multi-row INSERTs: one sqlite3_step (one GIL release) per _CHUNK rows instead of per row, so
        # a busy producer thread cannot starve the writer by grabbing the GIL at every row.
        full = len(samples) - len(samples) % _CHUNK
        if full:
            flat = [tuple(chain.from_iterable(samples[i : i + _CHUNK])) for i in range(0, full, _CHUNK)]
            self._db.executemany(_INSERT_CHUNK, flat)
        if full < len(samples):
            self._db.executemany(_INSERT_ONE, samples[full:])

    # -- reads ----------------------------------------------------------------------------------
    def max_seq(self) -> int:
        row = self._db.execute("SELECT max(seq) FROM samples").fetchone()
        stored = int(row[0]) if row[0] is not None else 0
        return max(stored, self.meta_int("last_seq"))

    def min_seq(self) -> int:
        row = self._db.execute("SELECT min(seq) FROM samples").fetchone()
        return int(row[0]) if row[0] is not None else 0

    def count_samples(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM samples").fetchone()[0])

    def time_of(self, seq: int) -> float | None:
        """Time of the newest stored sample with seq <= ``seq``."""
        row = self._db.execute(
            "SELECT t FROM samples WHERE seq<=? ORDER BY seq DESC LIMIT 1", (seq,)
        ).fetchone()
        return None if row is None else float(row[0])

    def time_of_first(self) -> float | None:
        row = self._db.execute("SELECT t FROM samples ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    def read_seq_range(
        self, after: int, upto: int | None, limit: int
    ) -> list[tuple[int, int, float, float, int]]:
        """Samples with ``after < seq <= upto`` in seq order, at most ``limit``."""
        hi = upto if upto is not None else 2**62
        rows = self._db.execute(
            "SELECT seq, tag_id, t, value, status FROM samples WHERE seq>? AND seq<=? ORDER BY seq LIMIT ?",
            (after, hi, limit),
        ).fetchall()
        return [
            (int(a), int(b), float(c), float(d) if d is not None else float("nan"), int(e))
            for a, b, c, d, e in rows
        ]

    def read_raw(
        self, tag: str, start: float, end: float, *, limit: int = 10_000, continuation: bytes | None = None,
        distinct_times: bool = False,
    ) -> tuple[list[StoredSample], bytes | None]:
        """Samples of ``tag`` with ``start <= time <= end`` in time order.

        Returns at most ``limit`` rows and a continuation token when more remain; pass it back to
        get the next page (the same ``start``/``end``). ``distinct_times``: one sample per timestamp
        (the last stored), for readers that page by time (OPC UA); a file written by an old version
        that rewound its clock on restart can hold several.
        """
        if distinct_times:
            return self._read_distinct(tag, start, end, limit), None
        if limit < 1:
            raise HistorianError(f"limit must be >= 1 (got {limit})")
        row = self._db.execute("SELECT id FROM tags WHERE name=?", (tag,)).fetchone()
        if row is None:
            return [], None
        tag_id = int(row[0])
        if continuation is None:
            cur = self._db.execute(
                "SELECT seq, t, value, status FROM samples WHERE tag_id=? AND t>=? AND t<=? "
                "ORDER BY t, seq LIMIT ?",
                (tag_id, start, end, limit + 1),
            )
        else:
            ct, cseq = decode_token(continuation)
            cur = self._db.execute(
                "SELECT seq, t, value, status FROM samples WHERE tag_id=? AND t<=? AND t>=? "
                "AND (t>? OR (t=? AND seq>?)) ORDER BY t, seq LIMIT ?",
                (tag_id, end, max(start, ct), ct, ct, cseq, limit + 1),
            )
        rows = cur.fetchall()
        out = [
            StoredSample(
                seq=int(s),
                tag=tag,
                time=float(t),
                value=float(v) if v is not None else float("nan"),
                status=int(st),
            )
            for s, t, v, st in rows[:limit]
        ]
        token = encode_token(out[-1].time, out[-1].seq) if len(rows) > limit else None
        return out, token

    def _read_distinct(self, tag: str, start: float, end: float, limit: int) -> list[StoredSample]:
        row = self._db.execute("SELECT id FROM tags WHERE name=?", (tag,)).fetchone()
        if row is None:
            return []
        rows = self._db.execute(
            "SELECT max(seq), t, value, status FROM samples WHERE tag_id=? AND t>=? AND t<=? "
            "GROUP BY t ORDER BY t LIMIT ?",
            (int(row[0]), start, end, limit),
        ).fetchall()
        return [
            StoredSample(seq=int(s), tag=tag, time=float(t), value=float(v) if v is not None else float("nan"),
                         status=int(st))
            for s, t, v, st in rows
        ]

    def read_events(self, start: float, end: float, *, limit: int = 10_000) -> list[StoredEvent]:
        rows = self._db.execute(
            "SELECT id, t, kind, source, data FROM events WHERE t>=? AND t<=? ORDER BY t, id LIMIT ?",
            (start, end, limit),
        ).fetchall()
        return [
            StoredEvent(id=int(i), time=float(t), kind=k, source=s, data=json.loads(d))
            for i, t, k, s, d in rows
        ]

    def gaps(self) -> list[Gap]:
        rows = self._db.execute("SELECT first_seq, last_seq, reason, t FROM gaps ORDER BY first_seq")
        return [Gap(first_seq=int(a), last_seq=int(b), reason=str(r), time=float(t)) for a, b, r, t in rows]

    # -- forward cursors --------------------------------------------------------------------------
    def cursor(self, sink: str) -> Cursor:
        row = self._db.execute(
            "SELECT acked, live_from, live_acked FROM cursors WHERE sink=?", (sink,)
        ).fetchone()
        if row is None:
            with self._tx():
                self._db.execute("INSERT OR IGNORE INTO cursors (sink, acked) VALUES (?, 0)", (sink,))
            return Cursor(sink=sink, acked=0)
        return Cursor(
            sink=sink,
            acked=int(row[0]),
            live_from=None if row[1] is None else int(row[1]),
            live_acked=None if row[2] is None else int(row[2]),
        )

    def set_cursor(self, cur: Cursor, now: float = 0.0) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO cursors (sink, acked, live_from, live_acked, updated) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(sink) DO UPDATE SET acked=excluded.acked, live_from=excluded.live_from, "
                "live_acked=excluded.live_acked, updated=excluded.updated",
                (cur.sink, cur.acked, cur.live_from, cur.live_acked, now),
            )

    def cursors(self) -> list[Cursor]:
        rows = self._db.execute("SELECT sink, acked, live_from, live_acked FROM cursors ORDER BY sink")
        return [
            Cursor(
                sink=s,
                acked=int(a),
                live_from=None if lf is None else int(lf),
                live_acked=None if la is None else int(la),
            )
            for s, a, lf, la in rows
        ]

    def backlog(self, cur: Cursor, head: int) -> tuple[int, float | None]:
        """Rows committed up to ``head`` that ``cur`` has not acknowledged, and the oldest one's time."""
        split = cur.live_from is not None
        ranges = [(cur.acked, cur.live_from or 0), (cur.head, head)] if split else [(cur.acked, head)]
        count, oldest = 0, None
        for lo, hi in ranges:
            if hi <= lo:
                continue
            row = self._db.execute(
                "SELECT count(*), min(seq) FROM samples WHERE seq>? AND seq<=?", (lo, hi)
            ).fetchone()
            count += int(row[0])
            if oldest is None and row[1] is not None:
                oldest = self.time_of(int(row[1]))
        return count, oldest

    def forwarded_floor(self) -> int | None:
        """Highest seq every registered sink has acknowledged (None when no sink is registered)."""
        row = self._db.execute("SELECT min(acked), count(*) FROM cursors").fetchone()
        return None if int(row[1]) == 0 else int(row[0])

    # -- quarantine -----------------------------------------------------------------------------
    def quarantine_add(
        self,
        *,
        sink: str,
        first_seq: int,
        last_seq: int,
        rows: int,
        attempts: int,
        error: str,
        payload: list[dict[str, Any]],
        now: float,
    ) -> int:
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO quarantine (sink, first_seq, last_seq, rows, attempts, error, state, created, "
                "payload) VALUES (?, ?, ?, ?, ?, ?, 'held', ?, ?)",
                (sink, first_seq, last_seq, rows, attempts, error, now, json.dumps(payload)),
            )
            return int(cur.lastrowid or 0)

    def quarantine_list(self, state: str | None = None) -> list[QuarantineEntry]:
        q = "SELECT id, sink, first_seq, last_seq, rows, attempts, error, state, created FROM quarantine"
        args: tuple[Any, ...] = ()
        if state is not None:
            q += " WHERE state=?"
            args = (state,)
        return [
            QuarantineEntry(
                id=int(r[0]),
                sink=r[1],
                first_seq=int(r[2]),
                last_seq=int(r[3]),
                rows=int(r[4]),
                attempts=int(r[5]),
                error=r[6],
                state=r[7],
                created=float(r[8]),
            )
            for r in self._db.execute(q + " ORDER BY id", args)
        ]

    def quarantine_payload(self, entry_id: int) -> list[dict[str, Any]]:
        row = self._db.execute("SELECT payload FROM quarantine WHERE id=?", (entry_id,)).fetchone()
        if row is None:
            raise HistorianError(f"no quarantine entry {entry_id}")
        payload: list[dict[str, Any]] = json.loads(row[0])
        return payload

    def quarantine_set(
        self, entry_id: int, *, state: str, attempts: int | None = None, error: str | None = None
    ) -> None:
        with self._tx():
            cur = self._db.execute(
                "UPDATE quarantine SET state=?, attempts=coalesce(?, attempts), error=coalesce(?, error) "
                "WHERE id=?",
                (state, attempts, error, entry_id),
            )
            if cur.rowcount == 0:
                raise HistorianError(f"no quarantine entry {entry_id}")

    def quarantine_delete(self, entry_id: int) -> None:
        """Remove an entry that was delivered on retry (not counted as dropped)."""
        with self._tx():
            self._db.execute("DELETE FROM quarantine WHERE id=?", (entry_id,))

    def quarantine_drop(self, entry_id: int) -> QuarantineEntry:
        entries = [e for e in self.quarantine_list() if e.id == entry_id]
        if not entries:
            raise HistorianError(f"no quarantine entry {entry_id}")
        with self._tx():
            self._db.execute("DELETE FROM quarantine WHERE id=?", (entry_id,))
            self._db.execute(
                "INSERT INTO metadata VALUES ('quarantine_dropped', ?) ON CONFLICT(key) DO UPDATE "
                "SET value=CAST(value AS INTEGER)+?",
                (str(entries[0].rows), entries[0].rows),
            )
        return entries[0]

    # -- retention and size -----------------------------------------------------------------------
    def delete_expired(self, *, before: float, upto_seq: int, limit: int) -> int:
        """Delete up to ``limit`` of the oldest samples with time < ``before`` and seq <= ``upto_seq``."""
        with self._tx():
            cur = self._db.execute(
                "DELETE FROM samples WHERE seq IN (SELECT seq FROM samples WHERE seq<=? AND t<? "
                "ORDER BY seq LIMIT ?)",
                (upto_seq, before, limit),
            )
            n = int(cur.rowcount)
            if n:
                self._bump("retention_deleted", n)
            self._db.execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE t<? ORDER BY id LIMIT ?)",
                (before, limit),
            )
        return n

    def delete_oldest(self, *, limit: int, now: float) -> int:
        """Size cap: delete the ``limit`` oldest samples whatever their forward state; record the gap."""
        with self._tx():
            row = self._db.execute(
                "SELECT min(seq), max(seq) FROM (SELECT seq FROM samples ORDER BY seq LIMIT ?)", (limit,)
            ).fetchone()
            if row[0] is None:
                return 0
            lo, hi = int(row[0]), int(row[1])
            n = int(self._db.execute("DELETE FROM samples WHERE seq>=? AND seq<=?", (lo, hi)).rowcount)
            self._db.execute("INSERT INTO gaps VALUES (?, ?, 'size_cap', ?)", (lo, hi, now))
            self._bump("size_cap_dropped", n)
        return n

    def used_bytes(self) -> int:
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        return (pages - free) * size

    def file_bytes(self) -> int:
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        return pages * int(self._db.execute("PRAGMA page_size").fetchone()[0])

    def free_pages(self) -> int:
        return int(self._db.execute("PRAGMA freelist_count").fetchone()[0])

    def incremental_vacuum(self, pages: int) -> None:
        self._db.execute(f"PRAGMA incremental_vacuum({int(pages)})").fetchall()

    def checkpoint(self) -> None:
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    # -- helpers --------------------------------------------------------------------------------
    def _bump(self, key: str, n: int) -> None:
        self._db.execute(
            "INSERT INTO metadata VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
            "SET value=CAST(value AS INTEGER)+?",
            (key, str(n), n),
        )

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (autocommit connection otherwise)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:  # e.g. disk full at commit: leave no transaction open behind
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        if self._db.in_transaction:  # SQLite may already have rolled back (SQLITE_FULL / IOERR)
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")


def check_database(path: str | Path) -> str:
    """``ok``, or why ``path`` is not a healthy SQLite database (opened read-only, nothing written)."""
    p = Path(path)
    try:
        db = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        rows = db.execute("PRAGMA quick_check(5)").fetchall()
        return "; ".join(str(r[0]) for r in rows)
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        db.close()


def newest_time(path: str | Path) -> float | None:
    """Newest sample time in the historian at ``path`` (None if it has none); read-only."""
    p = Path(path)
    try:
        db = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=30.0)
        try:
            kept = db.execute("SELECT value FROM metadata WHERE key='max_time'").fetchone()
            if kept is not None:
                return float(kept[0])
            row = db.execute("SELECT max(t) FROM samples").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise HistorianError(
            f"{p}: cannot read the historian database ({exc}); start with --repair to move it aside"
        ) from None
    return None if row is None or row[0] is None else float(row[0])


def move_aside(path: str | Path, stamp: str) -> Path:
    """Rename a damaged database (and its -wal / -shm files) to ``NAME.damaged-STAMP``; returns the new path."""
    p = Path(path)
    target = p.with_name(f"{p.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{p}{suffix}")
        if src.exists():
            src.rename(Path(f"{target}{suffix}"))
    return target
