"""The adapter on the real PLC (default tag map, PlcRuntime, engine) next to the real Modbus server.

Lockstep (paused): every tag read over OPC UA encodes to exactly the registers a Modbus client reads,
and each quality register is the DA/UA mapping of the tag's StatusCode; a setpoint written over
OPC UA is on the Modbus wire at once (PLC memory); Step advances simulated time by exactly N ticks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from asyncua import Client, ua
from pymodbus.client import AsyncModbusTcpClient

from plc_emulator.engine import status as st
from plc_emulator.image.codec import encode_words
from plc_emulator.image.quality import quality_word
from plc_emulator.modbus import ModbusAdapter
from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import Table, TagMap
from tests.conftest import DEFAULT_TAGMAP

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@dataclass
class Real:
    tagmap: TagMap
    plc: PlcRuntime
    adapter: OpcUaAdapter
    ua: Client
    mb: AsyncModbusTcpClient
    ns: int

    async def step(self, n: int) -> int:
        target = self.plc.step(n)
        async with asyncio.timeout(30):
            await self.plc.wait_tick(target)
        deadline = time.monotonic() + 10
        while self.adapter.publisher.last_tick != target:
            assert time.monotonic() < deadline, "adapter did not publish the tick"
            await asyncio.sleep(0.005)
        return target

    def node(self, node_id: str) -> object:
        return self.ua.get_node(ua.NodeId(node_id, self.ns))

    async def call(self, name: str, *args: object) -> object:
        plant = self.tagmap.plant
        sim = self.ua.get_node(ua.NodeId(f"{plant}.Simulation", self.ns))
        return await sim.call_method(ua.NodeId(f"{plant}.Simulation.{name}", self.ns), *args)

    async def table(self, table: Table, size: int) -> list[int]:
        out: list[int] = []
        for start in range(0, size, 100):
            count = min(100, size - start)
            if table is Table.HOLDING_REGISTER:
                rr = await self.mb.read_holding_registers(start, count=count)
                out += rr.registers
            elif table is Table.INPUT_REGISTER:
                rr = await self.mb.read_input_registers(start, count=count)
                out += rr.registers
            elif table is Table.COIL:
                rr = await self.mb.read_coils(start, count=count)
                out += [int(b) for b in rr.bits[:count]]
            else:
                rr = await self.mb.read_discrete_inputs(start, count=count)
                out += [int(b) for b in rr.bits[:count]]
            assert not rr.isError(), rr
        return out


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def real() -> AsyncIterator[Real]:
    tagmap = load(str(DEFAULT_TAGMAP))
    async with (PlcRuntime(tagmap, RuntimeConfig(paused=True, speed=0.0)) as plc,
                ModbusAdapter(tagmap, plc, host="127.0.0.1", port=0) as modbus,
                OpcUaAdapter(tagmap, plc) as adapter,
                Client(adapter.endpoint, timeout=10) as client):
        mb = AsyncModbusTcpClient("127.0.0.1", port=int(modbus.port), timeout=5)
        await mb.connect()
        ns = await client.get_namespace_index(tagmap.opcua.namespace_uri)
        r = Real(tagmap=tagmap, plc=plc, adapter=adapter, ua=client, mb=mb, ns=ns)
        await r.step(1)
        try:
            yield r
        finally:
            mb.close()


async def test_lockstep_every_tag_equals_modbus(real: Real) -> None:
    await real.call("InjectFault", "SEP-V100.inlet_pressure", "fail", "{}")
    await real.call("InjectFault", "PMP-P100.vibration", "comm_loss", '{"timeout": 60}')
    tick = await real.step(3)
    snap = real.plc.snapshot
    sizes = {Table.HOLDING_REGISTER: len(snap.holding), Table.INPUT_REGISTER: len(snap.input),
             Table.COIL: len(snap.coils), Table.DISCRETE_INPUT: len(snap.discrete)}
    tables = {t: await real.table(t, n) for t, n in sizes.items() if n}
    params = ua.ReadParameters()
    for tag in real.tagmap.tags:
        params.NodesToRead.append(ua.ReadValueId(NodeId=ua.NodeId(tag.opcua.node_id, real.ns),
                                                 AttributeId=ua.AttributeIds.Value))
    dvs = await real.ua.uaclient.read(params)
    assert real.plc.snapshot.tick == tick
    seen_status = set()
    for tag, dv in zip(real.tagmap.tags, dvs, strict=True):
        code = dv.StatusCode.value
        seen_status.add(st.severity(code))
        assert dv.SourceTimestamp == datetime.fromtimestamp(real.plc.snapshot.sim_time, UTC) or \
            dv.SourceTimestamp <= datetime.fromtimestamp(real.plc.snapshot.sim_time, UTC), tag.key
        p = tag.modbus
        if p is None:
            continue
        if p.quality_address is not None:
            assert tables[p.table][p.quality_address] == quality_word(code), tag.key
        if dv.StatusCode.is_bad():
            assert dv.Value.Value is None
            continue
        words = tables[p.table][p.address:p.address + p.count]
        assert words == encode_words(float(dv.Value.Value), p, tag.range), tag.key
    assert seen_status == {"good", "uncertain", "bad"}
    await real.call("ClearFault", "*")


async def test_setpoint_written_over_opcua_is_on_modbus_at_once(real: Real) -> None:
    tag = real.tagmap.tag("SEP-V100.LIC100_SP")
    assert tag.modbus is not None
    node = real.node(tag.opcua.node_id)
    before = await node.read_value()
    new = 57.5 if before != 57.5 else 52.5
    await node.write_value(ua.DataValue(ua.Variant(new, ua.VariantType.Double)))
    tick = real.plc.tick
    words = (await real.mb.read_holding_registers(tag.modbus.address, count=2)).registers
    assert words == encode_words(new, tag.modbus, tag.range)  # PLC memory: in the image at once
    assert real.plc.tick == tick
    await real.step(1)
    words = (await real.mb.read_holding_registers(tag.modbus.address, count=2)).registers
    assert words == encode_words(new, tag.modbus, tag.range)
    assert await node.read_value() == new


async def test_step_advances_simulated_time_exactly(real: Real) -> None:
    diag = f"{real.tagmap.plant}.Diagnostics"
    t0 = await real.node(f"{diag}.Tick").read_value()
    assert t0 == real.plc.tick
    await real.call("Step", ua.Variant(5, ua.VariantType.UInt32))
    async with asyncio.timeout(30):
        await real.plc.wait_tick(t0 + 5)
    deadline = time.monotonic() + 10
    while real.adapter.publisher.last_tick != t0 + 5:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)
    assert await real.node(f"{diag}.Tick").read_value() == t0 + 5
    want = datetime.fromtimestamp(real.tagmap.epoch + (t0 + 5) * real.tagmap.scan_period, UTC)
    got = await real.node(f"{diag}.SimulatedTime").read_value()
    assert got.replace(tzinfo=UTC) == want
    assert await real.node("PLC.tick").read_value() == t0 + 5
    assert real.plc.paused


async def test_link_fault_injected_over_opcua_is_seen_by_a_modbus_client(real: Real) -> None:
    """InjectFault/ClearFault take the one fault vocabulary of scenario files, Modbus link faults too."""
    with pytest.raises(ua.UaStatusCodeError, match="BadInvalidArgument"):
        await real.call("InjectFault", "modbus.tcp", "freeze", "{}")  # a sensor fault on a link
    await real.call("InjectFault", "modbus.tcp", "exception", '{"code": 6}')
    await real.step(1)
    deadline = time.monotonic() + 5
    while not (rr := await real.mb.read_holding_registers(0, count=2)).isError():
        assert time.monotonic() < deadline, "the link fault was not acted on"
        await asyncio.sleep(0.01)
    assert rr.exception_code == 6
    await real.call("ClearFault", "modbus.tcp")
    await real.step(1)
    deadline = time.monotonic() + 5
    while (await real.mb.read_holding_registers(0, count=2)).isError():
        assert time.monotonic() < deadline, "the link fault was not cleared"
        await asyncio.sleep(0.01)
