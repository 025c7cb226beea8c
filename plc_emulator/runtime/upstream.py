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

__all__ = ["JsonSinkOptions", "SinkOptions", "SparkplugOptions", "UpstreamOptions", "build_sinks", "sparkplug_node"]

_BAD_ID = re.compile(r"[+#/]")


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonSinkOptions:
    """``--mqtt-url``: JSON samples, QoS 1, ``plc/<plant>/<device>``."""

    endpoint: MqttEndpoint

    def build(self, tagmap: TagMap, plc: Any, data_dir: Path) -> Sink:
        from historian import MqttSink

        return MqttSink(self.endpoint, plant=tagmap.plant)


@dataclass(frozen=True, slots=True, kw_only=True)
class SparkplugOptions:
    """``--sparkplug-url``: a Sparkplug B edge node (births, data, commands through the PLC's queue)."""

    endpoint: MqttEndpoint
    group: str | None = None  # default: the tag map's plant
    edge_node: str | None = None  # default: the tag map's name
    host_id: str | None = None  # primary host application: store and forward by its STATE

    def build(self, tagmap: TagMap, plc: Any, data_dir: Path) -> Sink:
        from historian import SparkplugSink

        node = sparkplug_node(tagmap, self.group, self.edge_node)
        bridge = _PlcBridge(tagmap, plc)
        return SparkplugSink(
            self.endpoint, node, state_file=data_dir / f"sparkplug-{node.group}-{node.edge_node}.json",
            current=bridge.current, device_alive=bridge.device_alive, on_write=bridge.write,
            host_id=self.host_id,
        )


SinkOptions = JsonSinkOptions | SparkplugOptions


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamOptions:
    sinks: tuple[SinkOptions, ...] = ()  # one forwarder each, in this order (their names are the cursor keys)
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
    """The sinks to forward to, one per entry of ``options.sinks``, in that order."""
    return [sink.build(tagmap, plc, data_dir) for sink in options.sinks]
