"""Link faults on the REAL runtime: each observed by a pymodbus client as the right symptom.

Faults are injected and cleared as commands (the path scenario events and the fault methods take),
applied by the engine at the next tick (ground truth fault_start / fault_end), and acted on by the
adapter from the snapshot of that tick.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerType

from plc_emulator.commands import Command, CommandKind, ParamValue
from plc_emulator.modbus.config import ModbusConfig
from plc_emulator.modbus.links import build_adapter
from plc_emulator.modbus.rtu import check_frame, rtu_frame
from plc_emulator.modbus.server import ModbusAdapter
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.scenario import ScenarioError, loads_scenario
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP
from tests.modbus.conftest import until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module"), pytest.mark.uvloop]
TAGMAP = load(str(DEFAULT_TAGMAP))
SP = TAGMAP.tag("SEP-V100.LIC100_SP")
assert SP.modbus is not None
ADDR = SP.modbus.address


@dataclass
class Rig:
    plc: PlcRuntime
    mb: ModbusAdapter

    async def fault(self, target: str, kind: str | None, **params: ParamValue) -> tuple[str, ...]:
        """Inject (kind given) or clear (kind None) a link fault; wait until the adapter acts on it.

        Returns the ground-truth event kinds the engine recorded for ``target`` at that tick.
        """
        if kind is None:
            cmd = Command(kind=CommandKind.CLEAR_FAULT, target=target, source="test")
        else:
            cmd = Command(kind=CommandKind.INJECT_FAULT, target=target, params={"kind": kind, **params}, source="test")
        self.plc.submit(cmd)
        tick = self.plc.step(1)
        async with asyncio.timeout(10):
            snap = await self.plc.wait_tick(tick)
        await until(lambda: (target in self.mb.faults.active) == (kind is not None), what=f"{target} {kind}")
        return tuple(e.kind for e in snap.events if e.target == target)

    def client(self, port: int | None = None, timeout: float = 1.0, rtu: bool = False) -> AsyncModbusTcpClient:
        return AsyncModbusTcpClient("127.0.0.1", port=port or self.mb.port, timeout=timeout, retries=0,
                                    reconnect_delay=0, framer=FramerType.RTU if rtu else FramerType.SOCKET)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig() -> AsyncIterator[Rig]:
    async with (PlcRuntime(TAGMAP, RuntimeConfig(paused=True, speed=0.0)) as plc,
                build_adapter(TAGMAP, plc, "127.0.0.1", 0, ModbusConfig(rtu_tcp_port=0, unit_ids=(2,))) as mb):
        yield Rig(plc, mb)


async def _read(c: AsyncModbusTcpClient, unit: int = 1) -> object:
    return await c.read_holding_registers(ADDR, count=2, device_id=unit)


async def test_fixed_and_random_delay(rig: Rig) -> None:
    c = rig.client(timeout=3)
    await c.connect()
    try:
        assert await rig.fault("modbus.tcp", "delay", ms=300) == ("fault_start",)
        t = time.perf_counter()
        assert not (await _read(c)).isError()  # type: ignore[attr-defined]
        assert 0.3 <= time.perf_counter() - t < 0.3 + 0.5
        await rig.fault("modbus.tcp", "delay", min_ms=100, max_ms=200)
        for _ in range(3):
            t = time.perf_counter()
            assert not (await _read(c)).isError()  # type: ignore[attr-defined]
            assert 0.1 <= time.perf_counter() - t < 0.2 + 0.5
        assert await rig.fault("modbus.tcp", None) == ("fault_end",)
        t = time.perf_counter()
        await _read(c)
        assert time.perf_counter() - t < 0.1
    finally:
        c.close()


async def test_dropped_answers_time_out(rig: Rig) -> None:
    c = rig.client(timeout=0.5)
    await c.connect()
    try:
        await rig.fault("modbus.*", "drop", percent=100)
        with pytest.raises(ModbusIOException):
            await _read(c)
        await rig.fault("modbus.*", None)
    finally:
        c.close()
    c = rig.client()
    await c.connect()
    try:
        assert not (await _read(c)).isError()  # type: ignore[attr-defined]
    finally:
        c.close()


@pytest.mark.parametrize("code", [6, 4])
async def test_busy_and_device_failure_exceptions_execute_nothing(rig: Rig, code: int) -> None:
    c = rig.client()
    await c.connect()
    try:
        await rig.fault("modbus.tcp", "exception", code=code)
        depth = rig.plc.queue_depth
        rr = await c.write_register(ADDR, 0)
        assert rr.isError() and rr.exception_code == code  # noqa: PT018
        assert rig.plc.queue_depth == depth
        await rig.fault("modbus.tcp", None)
        assert not (await _read(c)).isError()  # type: ignore[attr-defined]
    finally:
        c.close()


async def test_close_the_connection_then_reconnect(rig: Rig) -> None:
    await rig.fault("modbus.tcp", "close")
    r, w = await asyncio.open_connection("127.0.0.1", rig.mb.port)
    try:
        w.write(struct.pack(">HHHBBHH", 1, 0, 6, 1, 3, ADDR, 2))
        assert await asyncio.wait_for(r.read(100), 5) == b""  # closed, unanswered
    finally:
        w.close()
    await rig.fault("modbus.tcp", None)
    c = rig.client()
    await c.connect()
    try:
        assert not (await _read(c)).isError()  # type: ignore[attr-defined]
    finally:
        c.close()


async def test_stop_listening_refuses_connects_for_the_period(rig: Rig) -> None:
    port = rig.mb.port
    held = rig.client()
    await held.connect()
    try:
        await rig.fault("modbus.tcp", "stop_listening")
        with pytest.raises(ConnectionRefusedError):
            await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        with pytest.raises((ModbusIOException, ConnectionException)):
            await _read(held)  # the existing connection was closed too
        await rig.fault("modbus.tcp", None)
        await until(lambda: rig.mb.listener("tcp").server is not None, what="listening again")
        assert rig.mb.port == port
        c = rig.client()
        await c.connect()
        try:
            assert not (await _read(c)).isError()  # type: ignore[attr-defined]
        finally:
            c.close()
    finally:
        held.close()


async def test_corrupt_crc_on_rtu_over_tcp(rig: Rig) -> None:
    port = rig.mb.listener("rtu-tcp").port
    await rig.fault("modbus.rtu-tcp", "corrupt_crc")
    r, w = await asyncio.open_connection("127.0.0.1", port)
    try:
        w.write(rtu_frame(1, struct.pack(">BHH", 3, ADDR, 2)))
        resp = await asyncio.wait_for(r.readexactly(9), 5)
        assert check_frame(resp) is None  # the CRC is wrong
        c = rig.client(port=port, timeout=0.5, rtu=True)
        await c.connect()
        try:
            with pytest.raises(ModbusIOException):
                await _read(c)  # pymodbus drops the frame and times out
        finally:
            c.close()
        await rig.fault("modbus.rtu-tcp", None)
        w.write(rtu_frame(1, struct.pack(">BHH", 3, ADDR, 2)))
        assert check_frame(await asyncio.wait_for(r.readexactly(9), 5)) is not None
    finally:
        w.close()


async def test_a_unit_behind_a_faulted_link_answers_0x0b(rig: Rig) -> None:
    c = rig.client()
    await c.connect()
    try:
        await rig.fault("modbus.unit.2", "close")
        rr = await _read(c, unit=2)
        assert rr.isError() and rr.exception_code == 0x0B  # type: ignore[attr-defined]  # noqa: PT018
        assert not (await _read(c, unit=1)).isError()  # type: ignore[attr-defined]
        rr = await _read(c, unit=9)
        assert rr.exception_code == 0x0A  # type: ignore[attr-defined]  # unknown unit
        await rig.fault("modbus.unit.2", None)
        assert not (await _read(c, unit=2)).isError()  # type: ignore[attr-defined]
    finally:
        c.close()


async def test_scenario_events_for_link_faults() -> None:
    sc = loads_scenario("""
events:
  - {at: 1s, action: inject_fault, target: modbus.tcp, params: {kind: delay, min_ms: 50, max_ms: 250}}
  - {at: 2s, action: inject_fault, target: modbus.unit.2, params: {kind: close}}
  - {at: 3s, action: clear_fault, target: modbus.tcp}
""", 0.1)
    assert [(e.tick, e.command.kind.value, e.command.target) for e in sc.events] == [
        (10, "inject_fault", "modbus.tcp"), (20, "inject_fault", "modbus.unit.2"), (30, "clear_fault", "modbus.tcp")]
    with pytest.raises(ScenarioError) as ei:
        loads_scenario("events:\n  - {at: 1s, action: inject_fault, target: modbus.tcp, params: {kind: freeze}}\n")
    assert "must be one of delay, drop, exception, close, stop_listening, corrupt_crc" in str(ei.value)



async def _ask(r: asyncio.StreamReader, w: asyncio.StreamWriter, frame: bytes, rtu: bool) -> bytes | None:
    """Send one request; its whole answer (MBAP or RTU), or None when nothing comes within 0.3 s."""
    w.write(frame)
    try:
        head = await asyncio.wait_for(r.readexactly(3 if rtu else 7), 0.3)
    except TimeoutError:
        return None
    if not rtu:
        return head + await asyncio.wait_for(r.readexactly(struct.unpack(">H", head[4:6])[0] - 1), 5)
    rest = 2 if head[1] & 0x80 else head[2] + 2
    return head + await asyncio.wait_for(r.readexactly(rest), 5)


async def test_what_each_unit_id_gets_on_tcp_and_rtu_over_tcp(rig: Rig) -> None:
    """docs/modbus.md "Unit ids": the table, row by row, on raw frames (configured units 1 and 2)."""
    read = struct.pack(">BHH", 3, ADDR, 2)
    write = struct.pack(">BHH", 6, ADDR, 0)  # writing 0: allowed by the register's write limits

    def mbap(unit: int, pdu: bytes) -> bytes:
        return struct.pack(">HHHB", 7, 0, len(pdu) + 1, unit) + pdu

    tcp = await asyncio.open_connection("127.0.0.1", rig.mb.port)
    rtu = await asyncio.open_connection("127.0.0.1", rig.mb.listener("rtu-tcp").port)
    try:
        async def tcp_pdu(unit: int) -> bytes:
            resp = await _ask(*tcp, mbap(unit, read), rtu=False)
            assert resp is not None
            return resp[7:9]  # function code and byte count / exception code

        async def rtu_head(unit: int, pdu: bytes = read) -> bytes | None:
            resp = await _ask(*rtu, rtu_frame(unit, pdu), rtu=True)
            if resp is not None:
                assert check_frame(resp) is not None
            return None if resp is None else resp[:3]

        for unit in (1, 2, 0, 255):  # configured units; 0 and 255 address the device itself on TCP
            assert await tcp_pdu(unit) == bytes((3, 4)), unit
        assert await tcp_pdu(9) == bytes((0x83, 0x0A))  # unknown unit: gateway path unavailable
        for unit in (1, 2):
            assert await rtu_head(unit) == bytes((unit, 3, 4)), unit
        assert await rtu_head(9) is None  # unknown slave on RTU: silence, as on a serial line
        assert await rtu_head(255) is None
        assert await rtu_head(0) is None  # a broadcast read is ignored
        assert await rtu_head(0, write) is None  # a broadcast write is executed, never answered
        await rig.fault("modbus.unit.2", "close")
        assert await tcp_pdu(2) == bytes((0x83, 0x0B))  # configured unit behind a faulted link
        assert await rtu_head(2) == bytes((2, 0x83, 0x0B))
        await rig.fault("modbus.unit.2", None)
    finally:
        for _, w in (tcp, rtu):
            w.close()
