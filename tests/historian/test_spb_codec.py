"""Sparkplug payload rules without a broker: quality, value fields, data by alias, bdSeq persistence."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from historian import DataType, DeviceDef, ForwardRow, MetricDef, NodeDef, SparkplugSink, mqtt_endpoint
from historian._spb_codec import Payload, data_payloads, dbirth, metric_value, quality

GOOD, UNCERTAIN_NO_COMM, BAD_NO_COMM = 0x00000000, 0x408F0000, 0x80310000

NODE = NodeDef(group="g", edge_node="e", devices=(
    DeviceDef(name="D1", metrics=(
        MetricDef(tag="D1.p", name="p", alias=1, datatype=DataType.Float, unit="bar", low=0, high=10),
        MetricDef(tag="D1.run", name="run", alias=2, datatype=DataType.Boolean, writable=True),
    )),
    DeviceDef(name="D2", metrics=(MetricDef(tag="D2.n", name="n", alias=3, datatype=DataType.Int16),)),
))


@pytest.mark.parametrize(("status", "want"), [(GOOD, 192), (UNCERTAIN_NO_COMM, 500), (BAD_NO_COMM, 0),
                                              (0x00960000, 192), (0x80000000, 0)])
def test_quality_codes(status: int, want: int) -> None:
    assert quality(status) == want


def test_value_fields_per_datatype() -> None:
    m = Payload.Metric()
    metric_value(m, DataType.Int16, -3.0)
    assert m.int_value == 0xFFFFFFFD  # two's complement in the uint32 field
    metric_value(m, DataType.UInt32, 4_000_000_000.0)
    assert m.long_value == 4_000_000_000
    metric_value(m, DataType.Boolean, 1.0)
    assert m.boolean_value is True
    n = Payload.Metric()
    metric_value(n, DataType.Float, math.nan)
    assert n.is_null
    assert n.WhichOneof("value") is None


def test_data_by_alias_with_quality_and_skips() -> None:
    rows = [ForwardRow(1, "D1.p", "D1", 10.0, 1.5, GOOD), ForwardRow(2, "D2.n", "D2", 10.0, 7.0, BAD_NO_COMM),
            ForwardRow(3, "X.unknown", "X", 10.0, 1.0, GOOD), ForwardRow(4, "D1.run", "D1", 10.1, 1.0, GOOD)]
    out, unknown = data_payloads(rows, NODE.by_tag(), historical=True)
    assert unknown == 1
    by_dev = dict(out)
    d1 = by_dev["D1"].metrics
    assert [(m.alias, m.HasField("name"), m.is_historical, m.timestamp) for m in d1] == [
        (1, False, True, 10_000), (2, False, True, 10_100)]
    assert d1[0].float_value == 1.5
    assert len(d1[0].properties.keys) == 0  # Good: no Quality property in data
    d2 = by_dev["D2"].metrics[0]
    assert d2.is_null
    assert list(d2.properties.keys) == ["Quality"]
    assert d2.properties.values[0].int_value == 0
    skipped, _ = data_payloads(rows, NODE.by_tag(), historical=False, skip_devices=["D2"])
    assert [d for d, _ in skipped] == ["D1"]


def test_dbirth_carries_every_metric_with_properties() -> None:
    p = dbirth(NODE.devices[0], 5, {"D1.p": (2.5, GOOD)})
    assert [(m.name, m.alias, m.datatype) for m in p.metrics] == [("p", 1, 9), ("run", 2, 11)]
    props = {k: v for k, v in zip(p.metrics[0].properties.keys, p.metrics[0].properties.values, strict=True)}
    assert props["engUnit"].string_value == "bar"
    assert (props["engLow"].double_value, props["engHigh"].double_value) == (0.0, 10.0)
    assert props["Quality"].int_value == 192
    assert p.metrics[1].is_null  # no current value known


def test_bdseq_persists_and_wraps(tmp_path: Path) -> None:
    async def no_write(tag: str, value: float, source: str) -> str | None:
        return None

    def sink() -> SparkplugSink:
        return SparkplugSink(mqtt_endpoint("mqtt://127.0.0.1:1"), NODE, state_file=tmp_path / "s.json",
                             current=dict, device_alive=dict, on_write=no_write)

    assert [sink().next_bdseq() for _ in range(3)] == [0, 1, 2]
    (tmp_path / "s.json").write_text('{"bdSeq": 255}')
    assert sink().next_bdseq() == 0
    (tmp_path / "s.json").write_text("garbage")
    assert sink().next_bdseq() == 0
