"""An acknowledgement on one protocol is visible on the other at the next tick (Modbus <-> OPC UA)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from asyncua import Client, ua
from pymodbus.client import AsyncModbusTcpClient

from plc_emulator.modbus.server import ModbusAdapter
from plc_emulator.opcua.conditions import AlarmConditions
from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.tagmap.model import (
    Access,
    AlarmLimits,
    Location,
    ModbusPoint,
    OpcUaPoint,
    Table,
    Tag,
    TagKind,
    ValueFormat,
)

from .fakeplc import AlarmPlc
from .helpers import tag, tagmap

pytestmark = pytest.mark.integration

HI, HIHI = "SEP-V100.oil_level.HI", "SEP-V100.oil_level.HIHI"


def point(name: str, signal: str, table: Table, address: int, *, rw: bool = False) -> Tag:
    return Tag(
        device="ALARMS",
        name=name,
        signal=signal,
        unit="",
        description=signal,
        kind=TagKind.DISCRETE,
        range=(0.0, 1.0),
        access=Access.RW if rw else Access.RO,
        write_limits=(0.0, 1.0) if rw else None,
        states=("OFF", "ON"),
        precision=0,
        modbus=ModbusPoint(table=table, address=address, format=ValueFormat.BOOL),
        opcua=OpcUaPoint(browse_name=name, node_id=f"ALARMS.{name}"),
        alarms=None,
        historian=None,
        location=Location(file="test.yaml", line=1, col=1),
    )


def cross_tagmap():  # type: ignore[no-untyped-def]
    tags = [tag("SEP-V100", "oil_level", "V100.oil_level", AlarmLimits(hi=75.0, hihi=85.0))]
    for i, alarm in enumerate((HI, HIHI)):
        tags.append(point(f"a{i}_active", f"alarm.{alarm}.active", Table.DISCRETE_INPUT, 100 + i))
        tags.append(point(f"a{i}_unacked", f"alarm.{alarm}.unacked", Table.DISCRETE_INPUT, 200 + i))
        tags.append(point(f"a{i}_ack", f"alarm.{alarm}.ack", Table.COIL, 100 + i, rw=True))
    return tagmap(tags, pm={"instruments": {"signals": []}, "stiction": {"loops": []}}, dt=0.1)


async def wait_for(cond: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def test_ack_modbus_then_opcua_and_reverse() -> None:
    tm = cross_tagmap()
    plc = AlarmPlc(tm)
    async with ModbusAdapter(tm, plc, port=0) as mb, OpcUaAdapter(tm, plc, port=0) as uas:
        conds: AlarmConditions = uas.conditions  # attached by the adapter
        mbc = AsyncModbusTcpClient("127.0.0.1", port=mb.port, timeout=5)
        await mbc.connect()
        try:
            async with Client(uas.endpoint, timeout=10) as client:
                ns = uas.namespace_index

                async def acked(alarm: str) -> bool:
                    node = client.get_node(ua.NodeId(f"Alarms.{alarm}", ns))
                    return bool(await (await node.get_child(["0:AckedState", "0:Id"])).read_value())

                async def bits() -> list[bool]:
                    rr = await mbc.read_discrete_inputs(100, count=2, device_id=1)
                    ru = await mbc.read_discrete_inputs(200, count=2, device_id=1)
                    return [*rr.bits[:2], *ru.bits[:2]]

                plc.set("V100.oil_level", 90.0)
                plc.step()
                await conds.wait_idle()
                assert await bits() == [True, True, True, True]
                assert not await acked(HI)
                assert not await acked(HIHI)

                # Modbus ack of HI -> OPC UA sees it after the next tick
                assert not (await mbc.write_coil(100, True, device_id=1)).isError()
                await wait_for(lambda: plc._queue != [], "the coil write to reach the queue")
                plc.step()
                await conds.wait_idle()
                assert await acked(HI)
                assert not await acked(HIHI)
                assert await bits() == [True, True, False, True]

                # OPC UA ack of HIHI -> Modbus sees it after the next tick
                event_id = conds.conds[HIHI].event_ids[-1]
                await client.get_node(ua.NodeId(f"Alarms.{HIHI}", ns)).call_method(
                    ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge),
                    ua.Variant(event_id, ua.VariantType.ByteString),
                    ua.LocalizedText("ok"),
                )
                plc.step()
                await conds.wait_idle()
                assert await bits() == [True, True, False, False]
                assert await acked(HIHI)
                assert [(c.source, c.target) for c in plc.applied] == [("modbus", f"alarm.{HI}.ack"), ("opcua", HIHI)]
        finally:
            mbc.close()
            await conds.close()
