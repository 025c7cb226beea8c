"""HistoryRead beyond raw-forward: ReadProcessed (Part 13 aggregates), ReadAtTime, raw in reverse order,
and the HistoricalDataConfiguration of each historized variable (Part 11 5.2).

asyncua 2.1 serves only ReadRawModifiedDetails and ReadEventDetails; the session hands the other
details (and raw requests with StartTime > EndTime) to :class:`ProcessedHistory`. Samples are read
from the historian's SQLite file on a read-only connection, in a worker thread.

Stepped (Part 11 5.2.2) is true for two-state, multi-state and counter tags (held values), false for
analog tags (linear interpolation between samples). AggregateConfiguration: TreatUncertainAsBad =
true, PercentDataBad = 100, PercentDataGood = 100, UseSlopedExtrapolation = false (the defaults of
:mod:`.aggregates`; a request's own AggregateConfiguration is not applied).
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asyncua import Server, ua

from plc_emulator.opcua.aggregates import AGGREGATE_NODE_IDS, Result, Sample, compute, value_at
from plc_emulator.tagmap.model import TagKind, TagMap

__all__ = ["ProcessedHistory", "add_history_configuration", "is_reverse_raw"]

_MAX_INTERVALS = 10_000
_GOOD_BELOW = 0x40000000  # severity Good


def _unix(dt: datetime | None) -> float | None:
    if dt is None or dt.year <= 1601:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _dt(t: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=t)


def is_reverse_raw(details: Any) -> bool:
    """Raw request to be answered newest first (Part 11 6.4.3.2: StartTime later than EndTime, or
    only an EndTime)."""
    if not isinstance(details, ua.ReadRawModifiedDetails) or details.IsReadModified:
        return False
    t0, t1 = _unix(details.StartTime), _unix(details.EndTime)
    return t1 is not None and (t0 is None or t0 > t1)


def _dv(r: Result) -> ua.DataValue:
    bad = (r.status >> 30) >= 2
    v = ua.Variant() if bad or r.value is None or not math.isfinite(r.value) else ua.Variant(
        r.value, ua.VariantType.Double)
    ts = _dt(r.time)
    return ua.DataValue(v, StatusCode=ua.StatusCode(ua.UInt32(r.status)), SourceTimestamp=ts,  # type: ignore[arg-type]
                        ServerTimestamp=ts)  # type: ignore[arg-type]


class ProcessedHistory:
    """Reads the historian file for ReadProcessed / ReadAtTime / reverse raw."""

    def __init__(self, db_path: str | Path, tagmap: TagMap, *, max_response: int = 1000) -> None:
        self.path = Path(db_path)
        self.max_response = max_response
        self._tags = {t.opcua.node_id: t for t in tagmap.tags if t.opcua.historizing}
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def stepped(self, node_id: str) -> bool:
        tag = self._tags[node_id]
        return tag.kind is not TagKind.ANALOG

    # ------------------------------------------------------------------ SQLite (worker thread)
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        return self._db

    def _samples(self, tag: str, lo: float, hi: float, *, bounds: bool, limit: int = 1_000_000,
                 newest_first: bool = False) -> list[Sample]:
        with self._lock:
            db = self._conn()
            row = db.execute("SELECT id FROM tags WHERE name=?", (tag,)).fetchone()
            if row is None:
                return []
            tid = int(row[0])
            order = "DESC" if newest_first else "ASC"
            rows = db.execute(f"SELECT t, value, status FROM samples WHERE tag_id=? AND t>=? AND t<=? "
                              f"ORDER BY t {order}, seq {order} LIMIT ?", (tid, lo, hi, limit)).fetchall()
            if bounds:  # the nearest good sample on each side (simple bounds)
                before = db.execute("SELECT t, value, status FROM samples WHERE tag_id=? AND t<? AND status<? "
                                    "ORDER BY t DESC LIMIT 1", (tid, lo, _GOOD_BELOW)).fetchall()
                after = db.execute("SELECT t, value, status FROM samples WHERE tag_id=? AND t>? AND status<? "
                                   "ORDER BY t ASC LIMIT 1", (tid, hi, _GOOD_BELOW)).fetchall()
                rows = before + rows + after
        return [Sample(float(t), float(v) if v is not None else math.nan, int(s)) for t, v, s in rows]

    # ------------------------------------------------------------------ services
    async def read(self, details: Any, items: list[ua.HistoryReadValueId]) -> list[ua.HistoryReadResult]:
        out = []
        for item in items:
            node_id = str(item.NodeId.Identifier)
            if item.NodeId.NamespaceIndex == 0 or node_id not in self._tags:
                out.append(ua.HistoryReadResult(StatusCode=ua.StatusCode(ua.StatusCodes.BadHistoryOperationUnsupported)))
                continue
            try:
                dvs, cont = await self._read_one(details, node_id, item, len(out))
            except ValueError as exc:
                out.append(ua.HistoryReadResult(StatusCode=ua.StatusCode(int(exc.args[0]))))
                continue
            out.append(ua.HistoryReadResult(StatusCode=ua.StatusCode(), ContinuationPoint=cont,
                                            HistoryData=ua.HistoryData(DataValues=dvs)))
        return out

    async def _read_one(self, details: Any, node_id: str, item: ua.HistoryReadValueId, index: int
                        ) -> tuple[list[ua.DataValue], bytes | None]:
        tag = self._tags[node_id].key
        stepped = self.stepped(node_id)
        if isinstance(details, ua.ReadAtTimeDetails):
            times = sorted(t for t in (_unix(x) for x in details.ReqTimes) if t is not None)
            if not times or len(times) > _MAX_INTERVALS:
                raise ValueError(ua.StatusCodes.BadInvalidArgument)
            samples = await asyncio.to_thread(lambda: self._samples(tag, times[0], times[-1], bounds=True))
            order = [_unix(x) or 0.0 for x in details.ReqTimes]
            return [_dv(value_at(t, samples, stepped)) for t in order], None
        if isinstance(details, ua.ReadProcessedDetails):
            return await self._processed(details, tag, stepped, index), None
        return await self._reverse_raw(details, tag, item)

    async def _processed(self, d: ua.ReadProcessedDetails, tag: str, stepped: bool, index: int
                         ) -> list[ua.DataValue]:
        types = list(d.AggregateType or [])
        if not types:
            raise ValueError(ua.StatusCodes.BadAggregateListMismatch)
        agg_id = types[min(index, len(types) - 1)]
        agg = AGGREGATE_NODE_IDS.get(int(agg_id.Identifier)) if agg_id.NamespaceIndex == 0 and isinstance(
            agg_id.Identifier, int) else None
        if agg is None:
            raise ValueError(ua.StatusCodes.BadAggregateNotSupported)
        t0, t1 = _unix(d.StartTime), _unix(d.EndTime)
        interval = float(d.ProcessingInterval or 0.0) / 1000.0
        if t0 is None or t1 is None or t0 == t1 or interval < 0:
            raise ValueError(ua.StatusCodes.BadInvalidArgument)
        if interval > 0 and abs(t1 - t0) / interval > _MAX_INTERVALS:
            raise ValueError(ua.StatusCodes.BadAggregateInvalidInputs)
        lo, hi = min(t0, t1), max(t0, t1)
        samples = await asyncio.to_thread(lambda: self._samples(tag, lo, hi, bounds=True))
        return [_dv(r) for r in compute(agg, t0, t1, interval, samples, stepped=stepped)]

    async def _reverse_raw(self, d: ua.ReadRawModifiedDetails, tag: str, item: ua.HistoryReadValueId
                           ) -> tuple[list[ua.DataValue], bytes | None]:
        t0, t1 = _unix(d.StartTime), _unix(d.EndTime)
        assert t1 is not None
        hi = math.inf if t0 is None else t0
        lo = t1
        if item.ContinuationPoint:
            try:
                hi = float(item.ContinuationPoint.decode())
            except ValueError:
                raise ValueError(ua.StatusCodes.BadContinuationPointInvalid) from None
        limit = self.max_response
        if d.NumValuesPerNode:
            limit = min(limit, int(d.NumValuesPerNode))
        rows = await asyncio.to_thread(lambda: self._samples(tag, lo, min(hi, 1e18), bounds=False, limit=limit + 1,
                                                                 newest_first=True))
        cont = repr(rows[limit].time).encode() if len(rows) > limit else None
        return [_dv(Result(s.time, s.value, s.status)) for s in rows[:limit]], cont

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


async def add_history_configuration(server: Server, tagmap: TagMap, ns: int, node_of: dict[str, ua.NodeId]) -> int:
    """A HistoricalDataConfiguration object (HasHistoricalConfiguration) under each historized variable,
    with Stepped and AggregateConfiguration; returns how many were added."""
    n = 0
    for tag in tagmap.tags:
        if not tag.opcua.historizing or tag.opcua.node_id not in node_of:
            continue
        var = server.get_node(node_of[tag.opcua.node_id])
        base = f"{tag.opcua.node_id}.HAConfiguration"
        cfg = await var.add_object(ua.NodeId(base, ns), ua.QualifiedName("HA Configuration", 0),
                                   objecttype=ua.NodeId(ua.ObjectIds.HistoricalDataConfigurationType))
        await var.delete_reference(cfg.nodeid, ua.ObjectIds.HasComponent, forward=True, bidirectional=True)
        await var.add_reference(cfg.nodeid, ua.ObjectIds.HasHistoricalConfiguration, forward=True,
                                bidirectional=True)
        stepped = await cfg.get_child("0:Stepped")
        await stepped.write_value(ua.Variant(tag.kind is not TagKind.ANALOG, ua.VariantType.Boolean))
        agg = await cfg.get_child("0:AggregateConfiguration")
        for name, value, vt in (("TreatUncertainAsBad", True, ua.VariantType.Boolean),
                                ("PercentDataBad", 100, ua.VariantType.Byte),
                                ("PercentDataGood", 100, ua.VariantType.Byte),
                                ("UseSlopedExtrapolation", False, ua.VariantType.Boolean)):
            await (await agg.get_child(f"0:{name}")).write_value(ua.Variant(value, vt))
        n += 1
    return n
