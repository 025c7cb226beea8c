"""HistoryReadEvents (ReadEventDetails) from the historian's event table.

Stored events become OPC UA events of these types (the where-clause ``OfType`` matches subtypes):

* ``alarm`` (an ISA-18.2 transition): the condition's type (ExclusiveLimitAlarmType or
  OffNormalAlarmType), SourceNode = the tag node the condition hangs on (else Server);
* ground-truth faults (``fault_start``, ...): DeviceFailureEventType, the tag whose signal failed;
* ``command`` / ``audit`` (writes, method calls): AuditWriteUpdateEventType or
  AuditUpdateMethodEventType, the written tag.

Which events: those with ``StartTime <= Time <= EndTime`` (reverse when StartTime > EndTime), whose
SourceNode is the node read or below it (reading the Server object or the plant object returns
all), filtered by the where clause (``OfType`` elements, ANDed/ORed), at most ``NumValuesPerNode``
per response with a continuation point. Select clauses: EventId, EventType, SourceNode, SourceName,
Time, ReceiveTime, Message, Severity, ConditionName; anything else is null.
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from asyncua import ua

__all__ = ["EventHistory"]

O = ua.ObjectIds  # noqa: E741 - the ObjectIds table, used in a few tables below
_SUPERTYPES: Final[dict[int, tuple[int, ...]]] = {
    O.ExclusiveLimitAlarmType: (O.ExclusiveLimitAlarmType, O.LimitAlarmType, O.AlarmConditionType,
                                O.AcknowledgeableConditionType, O.ConditionType, O.BaseEventType),
    O.OffNormalAlarmType: (O.OffNormalAlarmType, O.DiscreteAlarmType, O.AlarmConditionType,
                           O.AcknowledgeableConditionType, O.ConditionType, O.BaseEventType),
    O.DeviceFailureEventType: (O.DeviceFailureEventType, O.SystemEventType, O.BaseEventType),
    O.AuditWriteUpdateEventType: (O.AuditWriteUpdateEventType, O.AuditUpdateEventType, O.AuditEventType,
                                  O.BaseEventType),
    O.AuditUpdateMethodEventType: (O.AuditUpdateMethodEventType, O.AuditEventType, O.BaseEventType),
}
_SEVERITY = {"alarm": 500, "command": 100, "audit": 100}


def _unix(dt: datetime | None) -> float | None:
    if dt is None or dt.year <= 1601:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _dt(t: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=t)


class EventHistory:
    """``resolve(kind, source, data) -> (EventType id, SourceNode, SourceName, Severity, ConditionName)``
    is given by the adapter, which knows tags and conditions."""

    def __init__(self, db_path: str | Path, resolve: Callable[[str, str, dict[str, Any]],
                                                             tuple[int, ua.NodeId, str, int, str]],
                 contains: Callable[[ua.NodeId, ua.NodeId], bool], *, max_response: int = 1000) -> None:
        self.path = Path(db_path)
        self.resolve = resolve
        self.contains = contains  # (node read, event source) -> the source is that node or below it
        self.max_response = max_response
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _rows(self, lo: float, hi: float, after_id: int, newest_first: bool, limit: int) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._db is None:
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            if newest_first:
                sql = ("SELECT id, t, kind, source, data FROM events WHERE t>=? AND t<=? AND id<? "
                       "ORDER BY t DESC, id DESC LIMIT ?")
            else:
                sql = ("SELECT id, t, kind, source, data FROM events WHERE t>=? AND t<=? AND id>? "
                       "ORDER BY t, id LIMIT ?")
            return list(self._db.execute(sql, (lo, hi, after_id, limit)).fetchall())

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    async def read(self, details: ua.ReadEventDetails, items: list[ua.HistoryReadValueId]
                   ) -> list[ua.HistoryReadResult]:
        return [await self._read_one(details, item) for item in items]

    async def _read_one(self, d: ua.ReadEventDetails, item: ua.HistoryReadValueId) -> ua.HistoryReadResult:
        t0, t1 = _unix(d.StartTime), _unix(d.EndTime)
        newest_first = (t0 is not None and t1 is not None and t0 > t1) or (t0 is None and t1 is not None)
        lo = min(t0, t1) if t0 is not None and t1 is not None else (t0 if t0 is not None else -math.inf)
        hi = max(t0, t1) if t0 is not None and t1 is not None else (t1 if t1 is not None else math.inf)
        after = 2**62 if newest_first else -1
        if item.ContinuationPoint:
            try:
                after = int(item.ContinuationPoint.decode())
            except ValueError:
                return ua.HistoryReadResult(StatusCode=ua.StatusCode(ua.StatusCodes.BadContinuationPointInvalid))
        limit = min(self.max_response, int(d.NumValuesPerNode) if d.NumValuesPerNode else self.max_response)
        flt = d.Filter
        out: list[ua.HistoryEventFieldList] = []
        last_id = after
        for _ in range(100):  # bounded: pages of the table until the response is full
            rows = await asyncio.to_thread(self._rows, max(lo, -1e18), min(hi, 1e18), last_id, newest_first, 500)
            for eid, t, kind, source, data in rows:
                last_id = int(eid)
                ev = self._event(int(eid), float(t), str(kind), str(source), json.loads(data))
                if not self.contains(item.NodeId, ev["SourceNode"]) or not _where(flt, ev):
                    continue
                out.append(ua.HistoryEventFieldList(EventFields=_select(flt, ev)))
                if len(out) > limit:
                    break
            if len(out) > limit or len(rows) < 500:
                break
        cont = None
        if len(out) > limit:
            out = out[:limit]
            cont = str(_last_kept(out, last_id)).encode()
        return ua.HistoryReadResult(StatusCode=ua.StatusCode(), ContinuationPoint=cont,
                                    HistoryData=ua.HistoryEvent(Events=out))

    def _event(self, eid: int, t: float, kind: str, source: str, data: dict[str, Any]) -> dict[str, Any]:
        type_id, node, name, severity, cond = self.resolve(kind, source, data)
        msg = data.get("message") or f"{kind} {source}: " + ", ".join(
            f"{k}={v}" for k, v in data.items() if k in ("event", "old", "new", "value", "command", "user", "result"))
        return {"EventId": eid.to_bytes(8, "big"), "EventType": ua.NodeId(type_id), "SourceNode": node,
                "SourceName": name, "Time": _dt(t), "ReceiveTime": _dt(t), "Message": ua.LocalizedText(msg),
                "Severity": severity, "ConditionName": cond, "_types": _SUPERTYPES.get(type_id, (type_id,))}


def _last_kept(out: list[ua.HistoryEventFieldList], fallback: int) -> int:
    """The continuation is the id of the last event returned (EventId holds it when selected)."""
    for f in out[-1].EventFields:
        v = f.Value
        if isinstance(v, bytes) and len(v) == 8:
            return int.from_bytes(v, "big")
    return fallback


_VARIANTS: Final = {"EventId": ua.VariantType.ByteString, "EventType": ua.VariantType.NodeId,
                    "SourceNode": ua.VariantType.NodeId, "SourceName": ua.VariantType.String,
                    "Time": ua.VariantType.DateTime, "ReceiveTime": ua.VariantType.DateTime,
                    "Message": ua.VariantType.LocalizedText, "Severity": ua.VariantType.UInt16,
                    "ConditionName": ua.VariantType.String}


def _select(flt: Any, ev: dict[str, Any]) -> list[ua.Variant]:
    out = []
    for clause in getattr(flt, "SelectClauses", None) or []:
        path = clause.BrowsePath or []
        name = path[-1].Name if path else ""
        if name in _VARIANTS and (len(path) == 1 or name == "ConditionName"):
            out.append(ua.Variant(ev[name], _VARIANTS[name]))
        else:
            out.append(ua.Variant())
    return out


def _where(flt: Any, ev: dict[str, Any]) -> bool:
    """OfType / And / Or elements of the where clause; other operators are not filtered on."""
    elements = list(getattr(getattr(flt, "WhereClause", None), "Elements", None) or [])
    if not elements:
        return True

    def ev_el(i: int) -> bool:
        el = elements[i]
        op = el.FilterOperator
        ops = el.FilterOperands or []
        if op == ua.FilterOperator.OfType:
            want = ops[0].Value.Value if ops else None
            return isinstance(want, ua.NodeId) and want.NamespaceIndex == 0 and want.Identifier in ev["_types"]
        if op in (ua.FilterOperator.And, ua.FilterOperator.Or):
            parts = [ev_el(o.Index) for o in ops if isinstance(o, ua.ElementOperand) and o.Index > i]
            return all(parts) if op == ua.FilterOperator.And else any(parts)
        return True

    return ev_el(0)
