"""``GET /history`` and ``GET /events``: raw reads of the historian's SQLite store, off the loop.

The historian writes the store (the recorder); this reader has its own connection and runs every
query in a worker thread, so the event loop (and with it Modbus, OPC UA and the SSE stream) never
waits on SQLite. Pages are continued with an opaque ``next`` token (the store's continuation:
time and sequence of the last row). Gaps the historian recorded (samples dropped when its queue
was full or its size cap hit) are returned with the page when they fall inside the window, so a
trend can show a hole as a hole instead of drawing a line across it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from historian import HistorianError, Store
from plc_emulator.http.views import iso, quality, value_or_none

__all__ = ["HistoryReader", "parse_time"]

MAX_PAGE = 5000


def parse_time(text: str, what: str) -> float:
    """Unix seconds or ISO 8601 (``2026-01-01T00:00:00Z``) -> Unix seconds; ValueError otherwise."""
    try:
        v = float(text)
    except ValueError:
        try:
            v = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+")).timestamp()
        except ValueError:
            raise ValueError(f"{what}: not a time (use Unix seconds or ISO 8601, got {text!r})") from None
    if not math.isfinite(v):
        raise ValueError(f"{what}: not a finite time (got {text!r})")
    return v


class HistoryReader:
    def __init__(self, db_path: Path) -> None:
        self.path = Path(db_path)
        self._store: Store | None = None
        self._lock = threading.Lock()

    def _open(self) -> Store:
        if self._store is None:
            self._store = Store(self.path)
        return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    async def samples(self, tag: str, start: float, end: float, limit: int, page: str | None) -> dict[str, Any]:
        token: bytes | None = None
        if page:
            try:
                token = base64.urlsafe_b64decode(page + "=" * (-len(page) % 4))
            except (binascii.Error, ValueError):
                raise ValueError("page: not a token returned by this endpoint") from None
        return await asyncio.to_thread(self._samples, tag, start, end, min(max(limit, 1), MAX_PAGE), token)

    def _samples(self, tag: str, start: float, end: float, limit: int, token: bytes | None) -> dict[str, Any]:
        with self._lock:
            store = self._open()
            try:
                rows, nxt = store.read_raw(tag, start, end, limit=limit, continuation=token)
            except HistorianError as exc:
                raise ValueError(f"page: {exc}") from None
            gaps = [g for g in store.gaps() if start <= g.time <= end]
        return {
            "tag": tag, "from": iso(start), "to": iso(end),
            "samples": [{"time": iso(s.time), "t": s.time, "value": value_or_none(s.value, s.status),
                         "quality": quality(s.status)} for s in rows],
            "gaps": [{"time": iso(g.time), "t": g.time, "samples_lost": g.count, "reason": g.reason}
                     for g in gaps],
            "next": base64.urlsafe_b64encode(nxt).decode().rstrip("=") if nxt else None,
        }

    async def events(self, start: float, end: float, limit: int) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._events, start, end, min(max(limit, 1), MAX_PAGE))

    def _events(self, start: float, end: float, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._open().read_events(start, end, limit=limit)
        return [{"id": e.id, "time": iso(e.time), "t": e.time, "kind": e.kind, "source": e.source, "data": e.data}
                for e in rows]
