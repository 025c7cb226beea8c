"""Store-and-forward historian (knows nothing of plc_emulator).

The emulator hands it samples (tag, time, value, OPC UA StatusCode) and events; it stores them in
SQLite (WAL), forwards them to sinks (MQTT) with a durable per-sink cursor, and answers raw queries.

    hist = Historian("data/historian.db", HistorianConfig(commit_interval=1.0))
    hist.record_value("SEP-V100.inlet_pressure", t, 45.2, 0)
    fwd = Forwarder("data/historian.db", MqttSink("mqtt://127.0.0.1:1883", plant="alpha"))
    task = asyncio.create_task(fwd.run()); ...; fwd.stop(); hist.close()
"""

from historian._crash import crash_point
from historian._forward import Forwarder, ForwardMetrics
from historian._model import (
    Event,
    ForwardConfig,
    HistorianConfig,
    HistorianError,
    QuarantineEntry,
    Sample,
    StoredEvent,
    StoredSample,
    TagInfo,
)
from historian._mqtt import MqttSink
from historian._policy import Backoff, TokenBucket
from historian._sink import Batch, ForwardRow, Sink, SinkSession, SinkUnavailable
from historian._sparkplug import SparkplugSink
from historian._spb_codec import DataType, DeviceDef, MetricDef, NodeDef
from historian._store import Cursor, Gap, Store, check_database, move_aside, newest_time
from historian._transport import MqttEndpoint, mqtt_endpoint, parse_mqtt_url
from historian._writer import Historian, HistorianMetrics

__all__ = [
    "Backoff",
    "Batch",
    "Cursor",
    "DataType",
    "DeviceDef",
    "Event",
    "ForwardConfig",
    "ForwardMetrics",
    "ForwardRow",
    "Forwarder",
    "Gap",
    "Historian",
    "HistorianConfig",
    "HistorianError",
    "HistorianMetrics",
    "MetricDef",
    "MqttEndpoint",
    "MqttSink",
    "NodeDef",
    "QuarantineEntry",
    "Sample",
    "Sink",
    "SinkSession",
    "SinkUnavailable",
    "SparkplugSink",
    "Store",
    "StoredEvent",
    "StoredSample",
    "TagInfo",
    "TokenBucket",
    "check_database",
    "crash_point",
    "move_aside",
    "mqtt_endpoint",
    "newest_time",
    "parse_mqtt_url",
]
