"""OPC UA HistoryRead (raw) served from the historian's SQLite store.

``HistorianHistory`` is an asyncua ``HistoryStorageInterface``: plug it in with
``adapter.set_history_storage(HistorianHistory(db_path, tagmap))`` before the adapter starts. The
historian writes the store (the recorder bridge); this class only reads it, on its own connection,
in a worker thread so the server loop never waits on SQLite.

Raw reads only (ReadRawModifiedDetails with IsReadModified = false), forward in time. A response holds
at most ``NumValuesPerNode`` values (or ``max_history_data_response_size`` when 0); when more remain,
the continuation point is the SourceTimestamp of the next value (asyncua's stateless convention).
Each timestamp is answered once (the last sample stored for it): the historian keeps per-tag
timestamps strictly increasing, and on an old file written by a version that rewound its clock on
restart this is what makes the continuation point always advance, so paging ends. Values
come back with their stored StatusCode and the simulated source time; a Bad sample carries a null
value (OPC UA Part 4 7.7.1).
"""

from __future__ import annotations

import asyncio
import math
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.server.history import HistoryStorageInterface

from historian import Store, StoredSample
from plc_emulator.tagmap.model import TagMap

__all__ = ["HistorianHistory", "historized_node_ids"]

_EPOCH_SLACK = 1e-6  # a continuation DateTime is rounded to the microsecond: start just before it


def historized_node_ids(tagmap: TagMap) -> dict[str, str]:
    """OPC UA string identifier -> historian tag name, for tags served with Historizing = true."""
    return {t.opcua.node_id: t.key for t in tagmap.tags if t.opcua.historizing}


def _to_unix(dt: datetime | None) -> float | None:
    if dt is None or dt == ua.get_win_epoch() or dt.year <= 1601:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _to_datetime(t: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=t)


def _data_value(s: StoredSample) -> ua.DataValue:
    ts = _to_datetime(s.time)
    bad = (s.status >> 30) & 0x3 >= 2
    variant = (
        ua.Variant() if bad or not math.isfinite(s.value) else ua.Variant(s.value, ua.VariantType.Double)
    )
    status = ua.StatusCode(ua.UInt32(s.status))
    return ua.DataValue(variant, StatusCode=status, SourceTimestamp=ts, ServerTimestamp=ts)  # type: ignore[arg-type]


class HistorianHistory(HistoryStorageInterface):
    """Read-only HistoryRead backend over ``historian.db``; writes come from the recorder."""

    def __init__(self, db_path: str | Path, tagmap: TagMap, *, max_response: int = 1000) -> None:
        super().__init__(max_history_data_response_size=max_response)
        self.path = Path(db_path)
        self._tags = historized_node_ids(tagmap)
        self._store: Store | None = None
        self._lock = threading.Lock()

    async def init(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = Store(self.path)
            return self._store

    async def stop(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # the historian records; the server's own data-change historizing is not used
    async def new_historized_node(self, node_id: ua.NodeId, period: timedelta | None, count: int = 0) -> None:
        return None

    async def save_node_value(self, node_id: ua.NodeId, datavalue: ua.DataValue) -> None:
        return None

    async def new_historized_event(
        self, source_id: ua.NodeId, evtypes: list[Any], period: timedelta | None, count: int = 0
    ) -> None:
        return None

    async def save_event(self, event: Any) -> None:
        return None

    async def read_event_history(
        self,
        source_id: ua.NodeId,
        start: datetime | None,
        end: datetime | None,
        nb_values: int,
        evfilter: Any,
    ) -> tuple[list[Any], datetime | None]:
        return [], None

    async def read_node_history(
        self, node_id: ua.NodeId, start: datetime | None, end: datetime | None, nb_values: int
    ) -> tuple[list[ua.DataValue], datetime | None]:
        tag = self._tags.get(str(node_id.Identifier)) if node_id.NamespaceIndex != 0 else None
        if tag is None:
            return [], None
        t0 = _to_unix(start)
        t1 = _to_unix(end)
        lo = -math.inf if t0 is None else t0 - _EPOCH_SLACK
        hi = math.inf if t1 is None else t1
        if lo > hi:  # reverse-order requests are answered forward over the same interval
            lo, hi = hi - _EPOCH_SLACK, lo + _EPOCH_SLACK
        limit = self.max_history_data_response_size
        if nb_values and nb_values > 0:
            limit = min(limit, int(nb_values))
        rows = await asyncio.to_thread(self._read, tag, lo, hi, limit + 1)
        cont = _to_datetime(rows[limit].time) if len(rows) > limit else None
        return [_data_value(s) for s in rows[:limit]], cont

    def _read(self, tag: str, lo: float, hi: float, limit: int) -> list[StoredSample]:
        store = self._open()
        with self._lock:
            rows, _ = store.read_raw(tag, max(lo, -1e18), min(hi, 1e18), limit=limit, distinct_times=True)
        return rows
