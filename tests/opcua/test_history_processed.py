"""ReadProcessed, ReadAtTime, reverse-order raw reads and HistoricalDataConfiguration, from the
historian file, over the real adapter (asyncua client). Data as in test_aggregates.py, at T0 + s."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua

from historian import Event, Historian, HistorianConfig
from plc_emulator.alarms.config import alarm_defs, pm_params_from_mapping
from plc_emulator.opcua.aggregates import CALCULATED, INTERPOLATED, UNCERTAIN_DATA_SUB_NORMAL
from plc_emulator.opcua.history import HistorianHistory
from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import TagKind
from tests.conftest import DEFAULT_TAGMAP

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

T0 = 1_700_000_000.0
BAD = 0x808D0000
DATA = [(0, 10.0, 0), (10, 20.0, 0), (20, math.nan, BAD), (30, 40.0, 0), (40, 50.0, 0)]


def at(s: float) -> datetime:
    return datetime.fromtimestamp(T0 + s, UTC)


class Env:
    def __init__(self, client: Client, node: ua.NodeId) -> None:
        self.client = client
        self.node = node

    async def read(self, details: object, cont: bytes | None = None) -> ua.HistoryReadResult:
        params = ua.HistoryReadParameters(HistoryReadDetails=details, TimestampsToReturn=ua.TimestampsToReturn.Both,
                                          NodesToRead=[ua.HistoryReadValueId(NodeId=self.node, ContinuationPoint=cont)])
        (res,) = await self.client.uaclient.history_read(params)
        return res


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    tm = load(DEFAULT_TAGMAP)
    tag = next(t for t in tm.tags if t.opcua.historizing and t.kind is TagKind.ANALOG)
    db = Path(tmp_path_factory.mktemp("hist")) / "historian.db"
    alarm = next(d for d in alarm_defs(tm, pm_params_from_mapping(tm.pm)) if d.tag == tag.key)
    with Historian(db, HistorianConfig(), clock=lambda: T0) as h:
        h.record_many((tag.key, T0 + t, v, st) for t, v, st in DATA)
        h.record_event(Event(time=T0 + 5, kind="alarm", source=alarm.id,
                             data={"event": "activate", "old": "NORMAL", "new": "UNACK_ACTIVE"}))
        h.record_event(Event(time=T0 + 15, kind="fault_start", source=tag.signal, data={"fault": "fail"}))
        h.record_event(Event(time=T0 + 25, kind="command", source="LIC100.sp",
                             data={"command": "write", "value": 61.5, "source": "opcua"}))
        h.record_event(Event(time=T0 + 35, kind="alarm", source=alarm.id,
                             data={"event": "clear", "old": "UNACK_ACTIVE", "new": "UNACK_RTN"}))
    async with PlcRuntime(tm, RuntimeConfig(paused=True)) as plc:
        adapter = OpcUaAdapter(tm, plc)
        adapter.set_history_storage(HistorianHistory(db, tm))
        async with adapter, Client(adapter.endpoint, timeout=10) as client:
            yield Env(client, ua.NodeId(tag.opcua.node_id, adapter.namespace_index))


def processed(agg: int, start: float = 0, end: float = 40, interval_s: float = 20) -> ua.ReadProcessedDetails:
    return ua.ReadProcessedDetails(StartTime=at(start), EndTime=at(end), ProcessingInterval=interval_s * 1000,
                                   AggregateType=[ua.NodeId(agg)],
                                   AggregateConfiguration=ua.AggregateConfiguration(UseServerCapabilitiesDefaults=True))


def rows(res: ua.HistoryReadResult) -> list[tuple[float, float | None, int]]:
    return [(round(dv.SourceTimestamp.replace(tzinfo=UTC).timestamp() - T0, 3), dv.Value.Value, dv.StatusCode.value)
            for dv in res.HistoryData.DataValues]


async def test_read_processed(env: Env) -> None:
    avg = await env.read(processed(ua.ObjectIds.AggregateFunction_Average))
    assert rows(avg) == [(0, 15.0, CALCULATED), (20, 40.0, UNCERTAIN_DATA_SUB_NORMAL | CALCULATED)]
    tavg = await env.read(processed(ua.ObjectIds.AggregateFunction_TimeAverage))  # analog: interpolated
    assert rows(tavg) == [(0, 20.0, CALCULATED), (20, 45.0, UNCERTAIN_DATA_SUB_NORMAL | CALCULATED)]
    for agg, want in ((ua.ObjectIds.AggregateFunction_Minimum, [10.0, 40.0]),
                      (ua.ObjectIds.AggregateFunction_Maximum, [20.0, 40.0]),
                      (ua.ObjectIds.AggregateFunction_Count, [2.0, 1.0]),
                      (ua.ObjectIds.AggregateFunction_Start, [10.0, None]),
                      (ua.ObjectIds.AggregateFunction_End, [20.0, 40.0]),
                      (ua.ObjectIds.AggregateFunction_Interpolative, [10.0, 30.0])):
        assert [v for _, v, _ in rows(await env.read(processed(agg)))] == want, agg
    unsupported = await env.read(processed(ua.ObjectIds.AggregateFunction_Total))
    assert unsupported.StatusCode.name == "BadAggregateNotSupported"


async def test_read_at_time(env: Env) -> None:
    res = await env.read(ua.ReadAtTimeDetails(ReqTimes=[at(35), at(0), at(20)], UseSimpleBounds=True))
    assert rows(res) == [(35, 45.0, INTERPOLATED), (0, 10.0, 0), (20, 30.0, UNCERTAIN_DATA_SUB_NORMAL | INTERPOLATED)]


async def test_reverse_raw_with_continuation(env: Env) -> None:
    details = ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=at(40), EndTime=at(0), NumValuesPerNode=2)
    got: list[tuple[float, float | None, int]] = []
    cont = None
    for _ in range(10):
        res = await env.read(details, cont)
        assert res.StatusCode.is_good()
        got += rows(res)
        cont = res.ContinuationPoint
        if not cont:
            break
    assert got == [(40, 50.0, 0), (30, 40.0, 0), (20, None, BAD), (10, 20.0, 0), (0, 10.0, 0)]


async def test_historical_configuration(env: Env) -> None:
    var = env.client.get_node(env.node)
    refs = await var.get_referenced_nodes(refs=ua.ObjectIds.HasHistoricalConfiguration)
    assert len(refs) == 1
    cfg = refs[0]
    assert (await cfg.read_type_definition()) == ua.NodeId(ua.ObjectIds.HistoricalDataConfigurationType)
    assert await (await cfg.get_child("0:Stepped")).read_value() is False  # analog: interpolated
    agg = await cfg.get_child("0:AggregateConfiguration")
    assert await (await agg.get_child("0:TreatUncertainAsBad")).read_value() is True
    assert await (await agg.get_child("0:PercentDataGood")).read_value() == 100


FIELDS = ("EventId", "EventType", "SourceNode", "Time", "Message")


def event_filter(of_type: int | None = None) -> ua.EventFilter:
    sel = [ua.SimpleAttributeOperand(TypeDefinitionId=ua.NodeId(ua.ObjectIds.BaseEventType),
                                     BrowsePath=[ua.QualifiedName(f, 0)], AttributeId=ua.AttributeIds.Value)
           for f in FIELDS]
    where = ua.ContentFilter()
    if of_type is not None:
        where.Elements = [ua.ContentFilterElement(FilterOperator=ua.FilterOperator.OfType, FilterOperands=[
            ua.LiteralOperand(Value=ua.Variant(ua.NodeId(of_type)))])]
    return ua.EventFilter(SelectClauses=sel, WhereClause=where)


async def read_events(env: Env, node: ua.NodeId, start: float, end: float, *, per: int = 0,
                      of_type: int | None = None) -> list[dict[str, object]]:
    details = ua.ReadEventDetails(StartTime=at(start), EndTime=at(end), NumValuesPerNode=per,
                                  Filter=event_filter(of_type))
    out: list[dict[str, object]] = []
    cont = None
    for _ in range(20):
        params = ua.HistoryReadParameters(HistoryReadDetails=details, NodesToRead=[
            ua.HistoryReadValueId(NodeId=node, ContinuationPoint=cont)])
        (res,) = await env.client.uaclient.history_read(params)
        assert res.StatusCode.is_good(), res.StatusCode
        for ev in res.HistoryData.Events:
            out.append({f: v.Value for f, v in zip(FIELDS, ev.EventFields, strict=True)})
        cont = res.ContinuationPoint
        if not cont:
            return out
    raise AssertionError("continuation points never ended")


async def test_history_read_events(env: Env) -> None:
    server = ua.NodeId(ua.ObjectIds.Server)
    every = await read_events(env, server, 0, 40)
    assert [round(e["Time"].replace(tzinfo=UTC).timestamp() - T0) for e in every] == [5, 15, 25, 35]
    types = [e["EventType"].Identifier for e in every]
    assert types == [ua.ObjectIds.ExclusiveLimitAlarmType, ua.ObjectIds.DeviceFailureEventType,
                     ua.ObjectIds.AuditWriteUpdateEventType, ua.ObjectIds.ExclusiveLimitAlarmType]
    # where OfType AlarmConditionType (a supertype of the limit alarm); paged one by one; reversed
    alarms = await read_events(env, server, 40, 0, per=1, of_type=ua.ObjectIds.AlarmConditionType)
    assert [round(e["Time"].replace(tzinfo=UTC).timestamp() - T0) for e in alarms] == [35, 5]
    assert all(e["SourceNode"] == env.node for e in alarms)
    # by source: reading the tag's node gives its alarm and fault events, not the LIC100 write
    mine = await read_events(env, env.node, 0, 40)
    assert [round(e["Time"].replace(tzinfo=UTC).timestamp() - T0) for e in mine] == [5, 15, 35]
    # by time
    assert len(await read_events(env, server, 10, 30)) == 2
