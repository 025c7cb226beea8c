"""Free memory, watchdog and handshake points on the REAL runtime, over Modbus."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from pymodbus.client import AsyncModbusTcpClient

from plc_emulator.engine._commands import LINK_FAULTS
from plc_emulator.image.codec import decode_words, encode_words
from plc_emulator.memory import BUSY, DONE, ERROR, IDLE
from plc_emulator.modbus import ModbusAdapter
from plc_emulator.modbus.access import AccessLevel
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.journal import read_journal
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.scan import ScanCycle
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import Tag, TagMap
from tests.conftest import DEFAULT_TAGMAP

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def _tag(signal: str, kind: str, access: str, modbus: dict[str, Any], *, rng: list[float] | None = None,
         unit: str = "", states: list[str] | None = None) -> dict[str, Any]:
    t: dict[str, Any] = {"signal": signal, "unit": unit, "description": signal, "kind": kind,
                         "range": rng or [0, 65535], "access": access, "precision": 0, "modbus": modbus,
                         "opcua": {"browse_name": signal.replace(".", "_"), "node_id": f"MEM.{signal}"}}
    if access == "rw":
        t["write_limits"] = t["range"]
    if states:
        t["states"] = states
    return t


def memory_map(tmp: Path) -> Path:
    doc = yaml.safe_load(DEFAULT_TAGMAP.read_text())
    h = "holding_register"
    doc["devices"]["MEM"] = {"description": "PLC memory", "tags": {
        "buffer": _tag("mem.buffer", "analog", "rw", {"table": h, "address": 1200, "format": "float64"},
                       rng=[-1e6, 1e6], unit="bbl/day"),
        "flag": _tag("mem.flag", "discrete", "rw", {"table": "coil", "address": 500, "format": "bool"},
                     rng=[0, 1], states=["OFF", "ON"]),
        "wd_counter": _tag("wd.hmi.counter", "counter", "rw", {"table": h, "address": 1210, "format": "uint32"}),
        "wd_echo": _tag("wd.hmi.echo", "counter", "ro", {"table": h, "address": 1212, "format": "uint32"}),
        "wd_expired": _tag("wd.hmi.expired", "discrete", "ro", {"table": "discrete_input", "address": 500,
                                                                "format": "bool"},
                           rng=[0, 1], states=["OK", "EXPIRED"]),
        "wd_timeout": _tag("wd.hmi.timeout", "analog", "rw", {"table": h, "address": 1214, "format": "float32"},
                           rng=[0.1, 86400], unit="s"),
        "wd_action": _tag("wd.hmi.action", "multistate", "rw", {"table": h, "address": 1216, "format": "uint32"},
                          rng=[0, 2], states=["NONE", "ESD_TRIP", "PUMP_TRIP"]),
        "hs_cmd": _tag("hs.recipe.cmd", "counter", "rw", {"table": h, "address": 1220, "format": "uint32"}),
        "hs_status": _tag("hs.recipe.status", "multistate", "ro", {"table": h, "address": 1222, "format": "uint32"},
                          rng=[0, 3], states=["IDLE", "BUSY", "DONE", "ERROR"]),
        "comm_param": _tag("comm.tcp.param", "analog", "rw", {"table": h, "address": 1230, "format": "float32"},
                           rng=[0, 1e6]),
        "comm_fault": _tag("comm.tcp.fault", "multistate", "rw", {"table": h, "address": 1232, "format": "uint32"},
                           rng=[0, 6], states=["none", *LINK_FAULTS]),
    }}
    path = tmp / "memory.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@dataclass
class Rig:
    tagmap: TagMap
    plc: PlcRuntime
    mb: AsyncModbusTcpClient
    journal: Path

    async def step(self, n: int = 1) -> None:
        target = self.plc.step(n)
        async with asyncio.timeout(10):
            await self.plc.wait_tick(target)

    def tag(self, name: str) -> Tag:
        return self.tagmap.tag(f"MEM.{name}")

    async def write(self, name: str, value: float) -> None:
        t = self.tag(name)
        assert t.modbus is not None
        if t.modbus.table.value == "coil":
            rr = await self.mb.write_coil(t.modbus.address, bool(value))
        else:
            rr = await self.mb.write_registers(t.modbus.address, encode_words(value, t.modbus, t.range))
        assert not rr.isError(), rr

    async def read(self, name: str) -> float:
        t = self.tag(name)
        p = t.modbus
        assert p is not None
        if p.table.value == "coil":
            return float((await self.mb.read_coils(p.address, count=1)).bits[0])
        if p.table.value == "discrete_input":
            return float((await self.mb.read_discrete_inputs(p.address, count=1)).bits[0])
        rr = await self.mb.read_holding_registers(p.address, count=p.count)
        return decode_words(rr.registers, p, t.range)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    tmp = tmp_path_factory.mktemp("mem")
    tagmap = load(str(memory_map(tmp)))
    journal = tmp / "j.jsonl"
    async with (PlcRuntime(tagmap, RuntimeConfig(paused=True, speed=0.0, journal=journal)) as plc,
                ModbusAdapter(tagmap, plc, host="127.0.0.1", port=0) as modbus):
        mb = AsyncModbusTcpClient("127.0.0.1", port=int(modbus.port), timeout=5, retries=0)
        await mb.connect()
        try:
            yield Rig(tagmap, plc, mb, journal)
        finally:
            mb.close()


async def test_free_registers_and_coils_keep_what_is_written(rig: Rig) -> None:
    await rig.write("buffer", 12345.678)
    await rig.write("flag", 1)
    assert await rig.read("buffer") == 12345.678  # at once (PLC memory) ...
    await rig.step(3)
    assert await rig.read("buffer") == 12345.678  # ... and kept by the scans
    assert await rig.read("flag") == 1.0


async def test_watchdog_echoes_then_expires_on_a_stalled_counter(rig: Rig) -> None:
    """A stalled counter expires the watchdog; its action (ESD trip) raises the ESD alarm."""
    await rig.write("wd_timeout", 0.5)  # 5 scans of 100 ms
    await rig.write("wd_action", 1)  # trip the ESD on expiry
    await rig.write("wd_counter", 17)
    await rig.step(1)
    cols0 = {t.signal: i for i, t in enumerate(rig.tagmap.tags)}
    assert rig.plc.snapshot.values[cols0["ESD.active"]] == 0.0
    assert await rig.read("wd_echo") == 17
    assert await rig.read("wd_expired") == 0
    events: list[str] = []
    for _ in range(7):  # the counter stalls
        await rig.step(1)
        events += [e.kind for e in rig.plc.snapshot.events if e.target == "wd.hmi"]
    assert await rig.read("wd_expired") == 1
    assert events == ["watchdog_expired"]
    await rig.step(2)
    cols = {t.signal: i for i, t in enumerate(rig.tagmap.tags)}
    snap = rig.plc.snapshot
    assert snap.values[cols["ESD.active"]] == 1.0
    assert snap.values[cols["alarm.PLC.esd_active.TRIPPED.unacked"]] == 1.0  # the ESD alarm is raised
    await rig.write("wd_counter", 18)
    await rig.step(1)
    assert await rig.read("wd_expired") == 0
    assert [e.kind for e in rig.plc.snapshot.events if e.target == "wd.hmi"] == ["watchdog_restored"]


async def test_command_acknowledge_handshake(rig: Rig) -> None:
    await rig.write("hs_cmd", 7)
    await rig.step(1)
    assert await rig.read("hs_status") == BUSY
    await rig.step(1)
    assert await rig.read("hs_status") == DONE
    await rig.write("hs_cmd", 0)
    await rig.step(1)
    assert await rig.read("hs_status") == IDLE
    await rig.write("hs_cmd", 5)
    await rig.step(1)
    await rig.write("hs_cmd", 6)  # a new command before the first was acknowledged
    await rig.step(1)
    assert await rig.read("hs_status") == ERROR


async def test_link_fault_control_point(rig: Rig) -> None:
    """comm.tcp.param + comm.tcp.fault: engineer only; a delay set over Modbus delays Modbus answers."""
    p = rig.tag("comm_param").modbus
    assert p is not None
    words = [*encode_words(300.0, p, (0, 1e6)), 0, 1]  # param 300 ms, fault 1 = delay
    rr = await rig.mb.write_registers(1230, words)
    assert rr.isError() and rr.exception_code == 1  # noqa: PT018 - the operator listener may not
    async with ModbusAdapter(rig.tagmap, rig.plc, host="127.0.0.1", port=0, access=AccessLevel.ENGINEER) as eng:
        c = AsyncModbusTcpClient("127.0.0.1", port=eng.port, timeout=5, retries=0)
        await c.connect()
        try:
            assert not (await c.write_registers(1230, words)).isError()
            await rig.step(1)
            started = [e for e in rig.plc.snapshot.events if e.target == "modbus.tcp"]
            assert [(e.kind, dict(e.params)) for e in started] == [("fault_start", {"kind": "delay", "ms": 300.0})]
            t = time.perf_counter()
            while "modbus.tcp" not in eng.faults.active:  # handed from the scan thread to the loop
                assert time.perf_counter() - t < 5
                await asyncio.sleep(0.005)
            t = time.perf_counter()
            assert not (await c.read_holding_registers(1232, count=2)).isError()
            assert time.perf_counter() - t >= 0.3
            assert not (await c.write_registers(1232, [0, 0])).isError()  # fault 0 = none
            await rig.step(1)
            assert [e.kind for e in rig.plc.snapshot.events if e.target == "modbus.tcp"] == ["fault_end"]
        finally:
            c.close()


async def test_memory_points_replay_bit_for_bit(rig: Rig) -> None:
    """The journal of this module's writes, replayed headless, gives the same digest."""
    live = rig.plc.snapshot
    entries = read_journal(rig.journal).entries
    cycle = ScanCycle(rig.tagmap, seed=rig.plc.seed)
    sched: dict[int, list[Any]] = {}
    for e in entries:
        sched.setdefault(e.tick, []).append(e.command)
    snap = cycle.run(live.tick, sched)
    assert snap.digest == live.digest
