"""Sparkplug B 3.0 payloads: the node/device model, births, data by alias, deaths, quality.

Pure: no I/O, no clock of its own (times are passed in, in ms). The protobuf schema is Eclipse Tahu's
``sparkplug_b.proto`` (EPL-2.0), compiled into :mod:`historian.sparkplug.sparkplug_b_pb2`.

Quality follows the convention Ignition's MQTT Engine reads: a ``Quality`` Int32 property on the
metric, 192 Good, 500 Uncertain (stale: last usable value), 0 Bad; a Bad sample also carries
``is_null`` (no value). Births carry every metric's ``engUnit``, ``engLow``, ``engHigh`` and
``readOnly`` properties.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from historian._sink import ForwardRow
from historian.sparkplug.sparkplug_b_pb2 import Payload

__all__ = [
    "BDSEQ",
    "REBIRTH",
    "DataType",
    "DeviceDef",
    "MetricDef",
    "NodeDef",
    "Payload",
    "data_payloads",
    "dbirth",
    "death",
    "metric_value",
    "nbirth",
    "quality",
]

BDSEQ = "bdSeq"
REBIRTH = "Node Control/Rebirth"
QUALITY_GOOD, QUALITY_STALE, QUALITY_BAD = 192, 500, 0


class DataType(IntEnum):
    """Sparkplug B basic data types (specification 6.4.16)."""

    Int8 = 1
    Int16 = 2
    Int32 = 3
    Int64 = 4
    UInt8 = 5
    UInt16 = 6
    UInt32 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    Boolean = 11
    String = 12


_INT_FIELD = {DataType.Int8, DataType.Int16, DataType.Int32, DataType.UInt8, DataType.UInt16}
_LONG_FIELD = {DataType.Int64, DataType.UInt32, DataType.UInt64}


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricDef:
    tag: str  # the historian tag name (rows are matched on it)
    name: str  # the Sparkplug metric name inside its device
    alias: int  # unique within the edge node
    datatype: DataType
    unit: str = ""
    low: float = 0.0
    high: float = 0.0
    writable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceDef:
    name: str
    metrics: tuple[MetricDef, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeDef:
    """One edge node: ``spBv1.0/<group>/.../<edge_node>[/<device>]``."""

    group: str
    edge_node: str
    devices: tuple[DeviceDef, ...]

    def topic(self, kind: str, device: str | None = None) -> str:
        base = f"spBv1.0/{self.group}/{kind}/{self.edge_node}"
        return base if device is None else f"{base}/{device}"

    def by_tag(self) -> dict[str, tuple[DeviceDef, MetricDef]]:
        return {m.tag: (d, m) for d in self.devices for m in d.metrics}


def quality(status: int) -> int:
    """OPC UA StatusCode -> Ignition quality code: severity bits 00 Good, 01 Uncertain, 1x Bad."""
    severity = (status >> 30) & 0x3
    return QUALITY_GOOD if severity == 0 else QUALITY_STALE if severity == 1 else QUALITY_BAD


def metric_value(m: Payload.Metric, datatype: DataType, value: float) -> None:
    """Set the value field the datatype uses (Bad / non-finite values: ``is_null``)."""
    if not math.isfinite(value):
        m.is_null = True
    elif datatype is DataType.Boolean:
        m.boolean_value = value != 0.0
    elif datatype is DataType.Float:
        m.float_value = value
    elif datatype is DataType.Double:
        m.double_value = value
    elif datatype in _INT_FIELD:
        m.int_value = int(value) & 0xFFFFFFFF  # two's complement for the signed types
    elif datatype in _LONG_FIELD:
        m.long_value = int(value) & 0xFFFFFFFFFFFFFFFF
    else:
        m.string_value = f"{value:g}"


def _prop(m: Payload.Metric, key: str, datatype: DataType, value: float | str | bool) -> None:
    ps = m.properties
    ps.keys.append(key)
    pv = ps.values.add(type=int(datatype))
    if isinstance(value, bool):
        pv.boolean_value = value
    elif isinstance(value, str):
        pv.string_value = value
    elif datatype is DataType.Int32:
        pv.int_value = int(value) & 0xFFFFFFFF
    else:
        pv.double_value = float(value)


def _sample(m: Payload.Metric, md: MetricDef, value: float, status: int, *, always_quality: bool) -> None:
    q = quality(status)
    if q == QUALITY_BAD:
        m.is_null = True
    else:
        metric_value(m, md.datatype, value)
    if always_quality or q != QUALITY_GOOD:
        _prop(m, "Quality", DataType.Int32, q)


def nbirth(ts_ms: int, bdseq: int) -> Payload:
    p = Payload(timestamp=ts_ms, seq=0)
    p.metrics.add(name=BDSEQ, timestamp=ts_ms, datatype=int(DataType.Int64), long_value=bdseq)
    p.metrics.add(name=REBIRTH, timestamp=ts_ms, datatype=int(DataType.Boolean), boolean_value=False)
    return p


def dbirth(device: DeviceDef, ts_ms: int, current: Mapping[str, tuple[float, int]]) -> Payload:
    """Every metric with name, alias, datatype, properties and its current value (null when unknown)."""
    p = Payload(timestamp=ts_ms)
    for md in device.metrics:
        m = p.metrics.add(name=md.name, alias=md.alias, timestamp=ts_ms, datatype=int(md.datatype))
        if md.tag in current:
            value, status = current[md.tag]
            _sample(m, md, value, status, always_quality=True)
        else:
            m.is_null = True
            _prop(m, "Quality", DataType.Int32, QUALITY_BAD)
        if md.unit:
            _prop(m, "engUnit", DataType.String, md.unit)
        _prop(m, "engLow", DataType.Double, md.low)
        _prop(m, "engHigh", DataType.Double, md.high)
        _prop(m, "readOnly", DataType.Boolean, not md.writable)
    return p


def death(ts_ms: int, bdseq: int | None = None) -> Payload:
    """NDEATH (with ``bdSeq``, registered as the MQTT will) or DDEATH (no metrics)."""
    p = Payload(timestamp=ts_ms)
    if bdseq is not None:
        p.metrics.add(name=BDSEQ, datatype=int(DataType.Int64), long_value=bdseq)
    return p


def data_payloads(
    rows: Iterable[ForwardRow], by_tag: Mapping[str, tuple[DeviceDef, MetricDef]], *, historical: bool,
    skip_devices: Sequence[str] = (),
) -> tuple[list[tuple[str, Payload]], int]:
    """Rows -> one DDATA payload per device (metrics by alias, in row order); also the count of rows
    with no metric in the model (not published)."""
    out: dict[str, Payload] = {}
    unknown = 0
    for r in rows:
        hit = by_tag.get(r.tag)
        if hit is None:
            unknown += 1
            continue
        dev, md = hit
        if dev.name in skip_devices:
            continue
        p = out.get(dev.name)
        ts = round(r.time * 1000)
        if p is None:
            p = out[dev.name] = Payload(timestamp=ts)
        m = p.metrics.add(alias=md.alias, timestamp=ts, datatype=int(md.datatype))
        if historical:
            m.is_historical = True
        _sample(m, md, r.value, r.status, always_quality=False)
    return list(out.items()), unknown
