"""Upstream (MQTT) options of ``plc-emulator run`` and the sinks built from them.

Parsed once by the CLI into :class:`UpstreamOptions`; :class:`~plc_emulator.runtime.recorder.
HistorianService` starts one forwarder per sink. Both sinks can run at once, each with its own
durable cursor: the JSON sink (``--mqtt-url``, QoS 1, ``plc/<plant>/<device>``) and the Sparkplug B
edge node (``--sparkplug-url``).

The Sparkplug node comes from the tag map: group = ``plant``, edge node = ``name``, one device per
equipment (tag map device), one metric per tag (alias = the tag's position in the map + 1), datatype
from the tag's Modbus format. Device commands (DCMD) go through :func:`validate_write` and the PLC's
command queue like Modbus and OPC UA writes, with source ``sparkplug:<host id>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from historian import MqttEndpoint, NodeDef, Sink
    from plc_emulator.tagmap.model import Tag, TagMap

__all__ = ["SparkplugOptions", "UpstreamOptions", "build_sinks", "sparkplug_node"]

_BAD_ID = re.compile(r"[+#/]")


@dataclass(frozen=True, slots=True, kw_only=True)
class SparkplugOptions:
    endpoint: MqttEndpoint
    group: str | None = None  # default: the tag map's plant
    edge_node: str | None = None  # default: the tag map's name
    host_id: str | None = None  # primary host application: store and forward by its STATE


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamOptions:
    json: MqttEndpoint | None = None  # --mqtt-url: the JSON sink
    sparkplug: SparkplugOptions | None = None  # --sparkplug-url: the Sparkplug B edge node
    max_backlog_age: float = 300.0  # s; /health fails while the oldest unforwarded sample is older


def _datatype(tag: Tag) -> Any:
    from historian import DataType

    fmt = tag.modbus.format.value if tag.modbus is not None else ""
    return {
        "bool": DataType.Boolean, "int16": DataType.Int16, "uint16": DataType.UInt16,
        "int32": DataType.Int32, "uint32": DataType.UInt32, "float32": DataType.Float,
        "float64": DataType.Double,
    }.get(fmt, DataType.Double)


def sparkplug_node(tagmap: TagMap, group: str | None = None, edge_node: str | None = None) -> NodeDef:
    from historian import DeviceDef, MetricDef, NodeDef

    alias = 0
    devices = []
    for dev in tagmap.devices:
        metrics = []
        for t in dev.tags:
            alias += 1
            metrics.append(MetricDef(tag=t.key, name=t.name, alias=alias, datatype=_datatype(t), unit=t.unit,
                                     low=t.range[0], high=t.range[1], writable=t.access.value == "rw"))
        devices.append(DeviceDef(name=_BAD_ID.sub("_", dev.name), metrics=tuple(metrics)))
    return NodeDef(group=_BAD_ID.sub("_", group or tagmap.plant),
                   edge_node=_BAD_ID.sub("_", edge_node or tagmap.name), devices=tuple(devices))


class _PlcBridge:
    """What the Sparkplug node needs from the PLC: current values, device liveness, writes."""

    def __init__(self, tagmap: TagMap, plc: Any) -> None:
        from plc_emulator.engine import status as st

        self.tagmap = tagmap
        self.plc = plc
        self.tags = {t.key: t for t in tagmap.tags}
        self._keys = [t.key for t in tagmap.tags]
        self._dev_cols: dict[str, list[int]] = {}
        i = 0
        for dev in tagmap.devices:
            self._dev_cols[_BAD_ID.sub("_", dev.name)] = list(range(i, i + len(dev.tags)))
            i += len(dev.tags)
        self._no_comm = st.BAD_NO_COMMUNICATION >> 16

    def current(self) -> dict[str, tuple[float, int]]:
        snap = self.plc.snapshot
        return {k: (float(snap.values[i]), int(snap.status[i])) for i, k in enumerate(self._keys)}

    def device_alive(self) -> dict[str, bool]:
        """A device is down while one of its points reports BadNoCommunication (comm_loss)."""
        status = self.plc.snapshot.status
        return {d: not any((int(status[i]) >> 16) == self._no_comm for i in cols)
                for d, cols in self._dev_cols.items()}

    async def write(self, tag: str, value: float, source: str) -> str | None:
        from plc_emulator.errors import EmulatorError
        from plc_emulator.image.writes import validate_write

        try:
            self.plc.submit(validate_write(self.tags[tag], value, source=source))
        except (EmulatorError, KeyError) as exc:
            return str(exc)
        return None


def build_sinks(options: UpstreamOptions, tagmap: TagMap, plc: Any, data_dir: Path) -> list[Sink]:
    """The sinks to forward to, in a stable order (their names are the cursor keys)."""
    from historian import MqttSink, SparkplugSink

    sinks: list[Sink] = []
    if options.json is not None:
        sinks.append(MqttSink(options.json, plant=tagmap.plant))
    spb = options.sparkplug
    if spb is not None:
        node = sparkplug_node(tagmap, spb.group, spb.edge_node)
        bridge = _PlcBridge(tagmap, plc)
        sinks.append(SparkplugSink(
            spb.endpoint, node, state_file=data_dir / f"sparkplug-{node.group}-{node.edge_node}.json",
            current=bridge.current, device_alive=bridge.device_alive, on_write=bridge.write,
            host_id=spb.host_id,
        ))
    return sinks
