"""PLC memory semantics on the REAL runtime (PlcRuntime + engine), on the wire.

An accepted write is in the served image at once (the next read sees it, no tick needed), FC 23
performs its write before its read, a rejected write changes nothing, the engine still applies the
write at the next tick (journal unchanged), and a value the program overwrites shows the program's
value after that tick. OPC UA serves the same image: a Modbus write is readable over OPC UA before
the next tick.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua
from pymodbus.client import AsyncModbusTcpClient

from plc_emulator.image.codec import decode_words, encode_words
from plc_emulator.modbus import ModbusAdapter
from plc_emulator.modbus.access import AccessLevel
from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.journal import read_journal
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import Tag, TagMap
from tests.conftest import DEFAULT_TAGMAP
from tests.modbus.conftest import RawClient

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
BOUND = 10.0


@dataclass
class Rig:
    tagmap: TagMap
    plc: PlcRuntime
    modbus: ModbusAdapter
    mb: AsyncModbusTcpClient
    journal: Path

    async def step(self, n: int = 1) -> int:
        target = self.plc.step(n)
        async with asyncio.timeout(BOUND):
            await self.plc.wait_tick(target)
        return target

    def point(self, key: str) -> tuple[Tag, int]:
        tag = self.tagmap.tag(key)
        assert tag.modbus is not None
        return tag, tag.modbus.address

    async def read_float(self, key: str) -> float:
        tag, address = self.point(key)
        assert tag.modbus is not None
        rr = await self.mb.read_holding_registers(address, count=2)
        assert not rr.isError(), rr
        return decode_words(rr.registers, tag.modbus, tag.range)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    tagmap = load(str(DEFAULT_TAGMAP))
    journal = tmp_path_factory.mktemp("memory") / "journal.jsonl"
    async with (PlcRuntime(tagmap, RuntimeConfig(paused=True, speed=0.0, journal=journal)) as plc,
                ModbusAdapter(tagmap, plc, host="127.0.0.1", port=0, access=AccessLevel.ENGINEER) as modbus):
        mb = AsyncModbusTcpClient("127.0.0.1", port=int(modbus.port), timeout=5, retries=0)
        await mb.connect()
        r = Rig(tagmap=tagmap, plc=plc, modbus=modbus, mb=mb, journal=journal)
        await r.step(1)
        try:
            yield r
        finally:
            mb.close()


async def test_accepted_write_is_read_back_before_the_next_tick(rig: Rig) -> None:
    tag, address = rig.point("SEP-V100.LIC100_SP")
    assert tag.modbus is not None
    tick = rig.plc.tick
    new = 61.5 if await rig.read_float(tag.key) != 61.5 else 38.5
    wr = await rig.mb.write_registers(address, encode_words(new, tag.modbus, tag.range))
    assert not wr.isError(), wr
    assert await rig.read_float(tag.key) == new
    assert rig.plc.tick == tick  # paused: no scan ran, the image shows the write anyway
    applied = await rig.step(1)
    assert await rig.read_float(tag.key) == new
    # the engine applied it at the next tick, journaled as before (the writer flushes per tick)
    entries = [e for e in read_journal(rig.journal).entries if e.command.target == tag.signal]
    assert entries
    assert entries[-1].tick == applied
    assert entries[-1].command.value == new


async def test_fc23_writes_before_it_reads_on_the_wire(rig: Rig) -> None:
    tag, address = rig.point("SEP-V100.LIC100_SP")
    assert tag.modbus is not None
    new = 57.5 if await rig.read_float(tag.key) != 57.5 else 42.5
    words = encode_words(new, tag.modbus, tag.range)
    raw = await RawClient.open(rig.modbus.port)
    try:
        pdu = struct.pack(">BHHHHB", 23, address, 2, address, 2, 4) + struct.pack(">2H", *words)
        resp = await raw.call(pdu)
    finally:
        await raw.close()
    assert resp[:2] == bytes((23, 4))
    assert list(struct.unpack(">2H", resp[2:])) == words


async def test_rejected_write_changes_nothing(rig: Rig) -> None:
    tag, address = rig.point("SEP-V100.LIC100_SP")
    assert tag.modbus is not None
    before_words = (await rig.mb.read_holding_registers(address, count=2)).registers
    before_snap, depth = rig.plc.snapshot, rig.plc.queue_depth
    # 95 % is outside the write limits 20..80 -> exception 0x03, nothing queued or shown
    rr = await rig.mb.write_registers(address, encode_words(95.0, tag.modbus, tag.range))
    assert rr.isError()
    assert rr.exception_code == 3
    assert (await rig.mb.read_holding_registers(address, count=2)).registers == before_words
    assert rig.plc.snapshot is before_snap
    assert rig.plc.queue_depth == depth


async def test_value_the_program_overwrites_shows_the_programs_value_after_the_tick(rig: Rig) -> None:
    """LIC100 in AUTO: a written output is in memory at once, then the controller's output replaces it."""
    _mode, mode_addr = rig.point("SEP-V100.LIC100_MODE")
    wr = await rig.mb.write_coil(mode_addr, True)
    assert not wr.isError()
    await rig.step(1)
    out, address = rig.point("SEP-V100.LIC100_OUT")
    assert out.modbus is not None
    controller = await rig.read_float(out.key)
    written = 3.0 if abs(controller - 3.0) > 1.0 else 97.0
    wr = await rig.mb.write_registers(address, encode_words(written, out.modbus, out.range))
    assert not wr.isError()
    assert await rig.read_float(out.key) == written
    await rig.step(1)
    assert abs(await rig.read_float(out.key) - written) > 0.5


async def test_pause_over_modbus_reads_back_paused_at_once(rig: Rig) -> None:
    """runtime.* points are memory too: the written pacing state is readable in the same instant."""
    tag = next(t for t in rig.tagmap.tags if t.signal == "runtime.speed")
    assert tag.modbus is not None
    words = encode_words(4.0, tag.modbus, tag.range)
    assert not (await rig.mb.write_registers(tag.modbus.address, words)).isError()
    got = (await rig.mb.read_holding_registers(tag.modbus.address, count=tag.modbus.count)).registers
    assert decode_words(got, tag.modbus, tag.range) == 4.0
    assert rig.plc.speed == 4.0
    assert rig.plc.paused


async def test_opcua_reads_the_value_written_over_modbus_before_the_next_tick(rig: Rig) -> None:
    tag, address = rig.point("SEP-V100.LIC100_SP")
    assert tag.modbus is not None
    async with (OpcUaAdapter(rig.tagmap, rig.plc) as adapter,
                Client(adapter.endpoint, timeout=10) as client):
        ns = await client.get_namespace_index(rig.tagmap.opcua.namespace_uri)
        node = client.get_node(ua.NodeId(tag.opcua.node_id, ns))
        tick = rig.plc.tick
        new = 44.5 if await node.read_value() != 44.5 else 45.5
        assert not (await rig.mb.write_registers(address, encode_words(new, tag.modbus, tag.range))).isError()
        deadline = time.monotonic() + BOUND
        while await node.read_value() != new:  # the publish hops from the scan thread to the loop
            assert time.monotonic() < deadline, "OPC UA never showed the Modbus write"
            await asyncio.sleep(0.005)
        assert rig.plc.tick == tick
        # and the other way: an OPC UA write is on the Modbus wire at once
        other = new + 1.0
        await node.write_value(ua.DataValue(ua.Variant(other, ua.VariantType.Double)))
        assert await rig.read_float(tag.key) == other
        assert rig.plc.tick == tick
