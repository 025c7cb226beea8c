"""JSON views of the register image, the tag map and the alarm block (pure: no aiohttp, no I/O).

One vocabulary with the other protocols: quality is the tag's OPC UA StatusCode (name, code,
severity), a Bad value is ``null`` (as an OPC UA DataValue carries no value with a Bad status),
times are the simulated source time of the snapshot (ISO 8601 UTC and Unix seconds).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from plc_emulator.alarms.block import AlarmStatus
from plc_emulator.alarms.config import AlarmDef
from plc_emulator.engine import status as st
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.tagmap.model import Tag, TagKind, TagMap

__all__ = [
    "alarm_json", "alarm_list", "iso", "quality", "reading", "readings", "tag_json", "transitions_json",
    "value_or_none",
]


def iso(t: float) -> str:
    """Unix seconds -> ``2026-01-01T00:00:00.100Z``."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def quality(code: int) -> dict[str, Any]:
    return {"name": st.name(code), "code": code, "severity": st.severity(code)}


def value_or_none(value: float, code: int) -> float | None:
    """The value a client sees: None when Bad or not finite."""
    if st.severity(code) == "bad" or not math.isfinite(value):
        return None
    return value


def reading(tag: Tag, value: float, code: int, snap: Snapshot) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tag": tag.key, "device": tag.device, "value": value_or_none(value, code), "unit": tag.unit,
        "quality": quality(code), "source_time": iso(snap.sim_time),
    }
    if tag.kind in (TagKind.DISCRETE, TagKind.MULTISTATE) and tag.states and math.isfinite(value):
        i = int(value)
        out["state"] = tag.states[i] if 0 <= i < len(tag.states) else None
    return out


def readings(tagmap: TagMap, snap: Snapshot, columns: Iterable[int]) -> list[dict[str, Any]]:
    tags = tagmap.tags
    values = snap.values.tolist()
    codes = snap.status.tolist()
    return [reading(tags[i], values[i], int(codes[i]), snap) for i in columns]


def tag_json(tag: Tag, namespace_uri: str) -> dict[str, Any]:
    m = tag.modbus
    lim = tag.alarms
    return {
        "tag": tag.key, "device": tag.device, "name": tag.name, "signal": tag.signal,
        "description": tag.description, "kind": tag.kind.value, "unit": tag.unit,
        "range": list(tag.range), "access": tag.access.value,
        "write_limits": list(tag.write_limits) if tag.write_limits is not None else None,
        "states": list(tag.states), "precision": tag.precision,
        "modbus": None if m is None else {
            "table": m.table.value, "address": m.address, "format": m.format.value,
            "word_order": m.word_order.value, "count": m.count, "quality_address": m.quality_address,
        },
        "opcua": {"node_id": f"nsu={namespace_uri};s={tag.opcua.node_id}", "browse_name": tag.opcua.browse_name,
                  "historizing": tag.opcua.historizing},
        "alarm_limits": None if lim is None else {
            "hihi": lim.hihi, "hi": lim.hi, "lo": lim.lo, "lolo": lim.lolo, "deadband": lim.deadband,
        },
    }


def alarm_json(status: AlarmStatus, d: AlarmDef | None, snap: Snapshot, dt: float) -> dict[str, Any]:
    """One alarm's ISA-18.2 state; ticks are turned into simulated times with ``dt``."""
    t0 = snap.sim_time - snap.tick * dt

    def at(tick: int) -> str | None:
        return iso(t0 + tick * dt) if tick >= 0 else None

    return {
        "id": status.id, "tag": d.tag if d else "", "kind": d.kind.value if d else "",
        "message": d.message if d else "", "state": status.state.name, "active": status.active,
        "acked": status.acked, "condition": status.condition, "confirmed": status.confirmed,
        "priority": status.priority, "severity": status.severity, "since": at(status.since_tick),
        "shelved_until": at(status.shelved_until),
    }


def alarm_list(snap: Snapshot, defs: Mapping[str, AlarmDef], dt: float) -> list[dict[str, Any]]:
    states: Mapping[str, AlarmStatus] = snap.alarms.get("alarms", {}) if snap.alarms else {}
    return [alarm_json(s, defs.get(a), snap, dt) for a, s in states.items()]


def transitions_json(snap: Snapshot) -> list[dict[str, Any]]:
    seq: Sequence[Any] = snap.alarms.get("transitions", ()) if snap.alarms else ()
    return [{"seq": t.seq, "alarm": t.alarm, "event": t.event.value, "old": t.old.name, "new": t.new.name,
             "source": t.source} for t in seq]
