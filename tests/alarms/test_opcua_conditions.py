"""OPC UA Alarms & Conditions over the real alarm block: events, state variables, methods, refresh."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, ua

from plc_emulator.opcua.conditions import AlarmConditions
from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.tagmap.model import AlarmLimits

from .fakeplc import AlarmPlc
from .helpers import tag, tagmap

pytestmark = pytest.mark.integration

HI = "SEP-V100.oil_level.HI"


class Handler:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def event_notification(self, event: Any) -> None:
        self.events.append(event)


async def wait_for(cond: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def alarm_tagmap():  # type: ignore[no-untyped-def]
    return tagmap(
        [
            tag(
                "SEP-V100",
                "oil_level",
                "V100.oil_level",
                AlarmLimits(hi=75.0, hihi=85.0, priorities={"hihi": 4}),
            ),
        ],
        pm={"instruments": {"signals": ["V100.oil_level"]}, "stiction": {"loops": []}},
        dt=0.1,
    )


@dataclass
class Rig:
    plc: AlarmPlc
    adapter: OpcUaAdapter
    conds: AlarmConditions
    client: Client
    handler: Handler
    sub: Any

    def cond_node(self, alarm: str) -> Any:
        return self.client.get_node(ua.NodeId(f"Alarms.{alarm}", self.adapter.namespace_index))

    async def step(self, n: int = 1) -> None:
        self.plc.step(n)
        await self.conds.wait_idle()

    def events_for(self, alarm: str) -> list[Any]:
        want = ua.NodeId(f"Alarms.{alarm}", self.adapter.namespace_index)
        return [e for e in self.handler.events if getattr(e, "NodeId", None) == want]


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    tm = alarm_tagmap()
    plc = AlarmPlc(tm)
    async with OpcUaAdapter(tm, plc, port=0) as adapter:
        conds: AlarmConditions = adapter.conditions  # attached by the adapter
        async with Client(adapter.endpoint, timeout=10) as client:
            handler = Handler()
            sub = await client.create_subscription(50, handler)
            await sub.subscribe_alarms_and_conditions(client.nodes.server, ua.ObjectIds.AlarmConditionType)
            yield Rig(plc, adapter, conds, client, handler, sub)
        await conds.close()


class TestConditions:
    async def test_event_and_condition_state_on_activation(self, rig: Rig) -> None:
        rig.plc.set("V100.oil_level", 80.0)
        await rig.step()
        await wait_for(lambda: bool(rig.events_for(HI)), "activation event")
        ev = rig.events_for(HI)[-1]
        assert ev.Severity == 500
        assert ev.Retain is True
        assert getattr(ev, "ActiveState/Id") is True
        assert getattr(ev, "AckedState/Id") is False
        assert ev.EventId == f"{HI}#0".encode()
        node = rig.cond_node(HI)
        assert await (await node.get_child(["0:ActiveState", "0:Id"])).read_value() is True
        assert await (await node.get_child(["0:AckedState", "0:Id"])).read_value() is False
        limit = await (await node.get_child(["0:LimitState", "0:CurrentState"])).read_value()
        assert limit.Text == "High"

    async def test_acknowledge_and_errors(self, rig: Rig) -> None:
        rig.plc.set("V100.oil_level", 80.0)
        await rig.step()
        await wait_for(lambda: bool(rig.events_for(HI)), "activation event")
        event_id = rig.events_for(HI)[-1].EventId
        node = rig.cond_node(HI)
        ack = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)
        with pytest.raises(ua.UaStatusCodeError) as info:
            await node.call_method(ack, ua.Variant(b"nope", ua.VariantType.ByteString), ua.LocalizedText("x"))
        assert info.value.code == ua.StatusCodes.BadEventIdUnknown
        await node.call_method(ack, ua.Variant(event_id, ua.VariantType.ByteString), ua.LocalizedText("seen"))
        await rig.step()
        await wait_for(lambda: getattr(rig.events_for(HI)[-1], "AckedState/Id") is True, "ack event")
        assert await (await node.get_child(["0:AckedState", "0:Id"])).read_value() is True
        with pytest.raises(ua.UaStatusCodeError) as info:
            await node.call_method(ack, ua.Variant(event_id, ua.VariantType.ByteString), ua.LocalizedText("x"))
        assert info.value.code == ua.StatusCodes.BadConditionBranchAlreadyAcked
        assert [c.source for c in rig.plc.applied] == ["opcua"]

    async def test_condition_refresh_resends_retained(self, rig: Rig) -> None:
        rig.plc.set("V100.oil_level", 90.0)
        await rig.step()
        await wait_for(lambda: len(rig.handler.events) >= 2, "HI and HIHI events")
        before = len(rig.handler.events)
        condition_type = rig.client.get_node(ua.NodeId(ua.ObjectIds.ConditionType))
        await condition_type.call_method(
            ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
            ua.Variant(rig.sub.subscription_id, ua.VariantType.UInt32),
        )
        await wait_for(lambda: len(rig.handler.events) >= before + 2, "refreshed conditions")
        again = {e.NodeId.Identifier for e in rig.handler.events[before:] if hasattr(e, "NodeId") and e.NodeId}
        assert {f"Alarms.{HI}", "Alarms.SEP-V100.oil_level.HIHI"} <= again

    async def test_timed_shelve_and_unshelve(self, rig: Rig) -> None:
        node = rig.cond_node(HI)
        shelve = ua.NodeId(ua.ObjectIds.ShelvedStateMachineType_TimedShelve)
        unshelve = ua.NodeId(ua.ObjectIds.ShelvedStateMachineType_Unshelve)
        with pytest.raises(ua.UaStatusCodeError) as info:
            await node.call_method(unshelve)
        assert info.value.code == ua.StatusCodes.BadConditionNotShelved
        await node.call_method(shelve, ua.Variant(60_000.0, ua.VariantType.Double))
        await rig.step()
        assert rig.plc.system.block.state_of(HI).name == "SHELVED"
        with pytest.raises(ua.UaStatusCodeError) as info:
            await node.call_method(shelve, ua.Variant(60_000.0, ua.VariantType.Double))
        assert info.value.code == ua.StatusCodes.BadConditionAlreadyShelved
        await node.call_method(unshelve)
        await rig.step()
        assert rig.plc.system.block.state_of(HI).name == "NORMAL"
