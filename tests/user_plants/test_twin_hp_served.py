"""The user's twin-HP plant served by the real runtime: a tag map with ``model: twin_hp.yaml`` (written
only from docs/tagmap.md and docs/blocks.md) validates, runs, serves Modbus and OPC UA, and gives the
same digest in every pacing mode."""

from __future__ import annotations

import asyncio
import struct
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pymodbus.client import AsyncModbusTcpClient, ModbusTcpClient

from plc_emulator.cli import main
from plc_emulator.commands import Command, CommandKind
from plc_emulator.runtime.checkpoint import Checkpoint, StartMode, read_checkpoint
from plc_emulator.scan import ScanCycle
from plc_emulator.tagmap import TagMap, load
from plc_emulator.testing import emulator
from tests.conftest import free_port
from tests.runtime._proc import CLI, Proc, ready_parts, run

TAGMAP = Path(__file__).parent / "twin_hp_tagmap.yaml"


def _float(regs: list[int]) -> float:
    return float(struct.unpack(">f", struct.pack(">HH", *regs))[0])


def _digest(lines: list[str]) -> str:
    return next(line.split()[1] for line in lines if line.startswith("digest: "))


def test_validate_passes(capsys: object) -> None:
    assert main(["validate", str(TAGMAP)]) == 0
    tm = load(TAGMAP)
    assert tm.plant_model is not None
    assert tm.catalogue.name == "twin_hp"
    assert tm.tag("HP-A.pressure").signal == "HP-A.pressure"


def test_run_serves_modbus_and_opcua(tmp_path: Path) -> None:
    """`plc-emulator run`: PVs over Modbus with Good quality, a setpoint write reaches the loop in the
    next ticks (its valve moves) and the pressure it drives raises the HP-A HI alarm on the wire,
    OPC UA browses Objects/TwinHP/HP-A/pressure and reads it."""
    mb, http, ua = free_port(), free_port(), free_port()
    proc = Proc([CLI, "run", str(TAGMAP), "--host", "127.0.0.1", "--modbus-port", str(mb), "--http-port",
                 str(http), "--opcua-port", str(ua), "--speed", "20", "--data-dir", str(tmp_path / "data")])
    try:
        parts = ready_parts(proc.wait_line("ready ", 90))
        assert parts["modbus"] == f"127.0.0.1:{mb}"
        assert parts["scan"] == "1000ms"
        client = ModbusTcpClient("127.0.0.1", port=mb, timeout=5)
        assert client.connect()
        try:
            pvs = client.read_holding_registers(0, count=21, device_id=1).registers
            for at, (lo, hi) in {0: (700, 1100), 3: (20, 80), 6: (700, 1100), 12: (50, 250), 18: (100, 2000)}.items():
                assert lo < _float(pvs[at:at + 2]) < hi, (at, _float(pvs[at:at + 2]))
                assert pvs[at + 2] == 0xC0  # OPC DA quality Good
            assert client.read_holding_registers(302, count=1, device_id=1).registers == [0]  # no alarm active
            assert client.read_discrete_inputs(1, count=1, device_id=1).bits[0] is False
            valve0 = _float(client.read_holding_registers(102, count=2, device_id=1).registers)
            assert not client.write_registers(100, list(struct.unpack(">HH", struct.pack(">f", 1100.0))),
                                              device_id=1).isError()
            deadline = time.monotonic() + 30.0
            sp = valve = float("nan")
            while time.monotonic() < deadline:  # bounded poll: the write applies at the next tick
                sp = _float(client.read_holding_registers(100, count=2, device_id=1).registers)
                valve = _float(client.read_holding_registers(102, count=2, device_id=1).registers)
                if sp == 1100.0 and valve < valve0 - 2.0:
                    break
                time.sleep(0.05)
            assert sp == 1100.0
            assert valve < valve0 - 2.0, (valve0, valve)  # PIC-A closes its gas valve to raise pressure
            assert client.write_registers(100, list(struct.unpack(">HH", struct.pack(">f", 1400.0))),
                                          device_id=1).isError()  # outside write_limits: exception
            deadline = time.monotonic() + 60.0
            hi = False
            while time.monotonic() < deadline and not hi:  # pressure climbs to 1100 psi, past HI (1050)
                hi = client.read_discrete_inputs(1, count=1, device_id=1).bits[0]
                time.sleep(0.1)
            assert hi, _float(client.read_holding_registers(0, count=2, device_id=1).registers)
            assert client.read_holding_registers(302, count=1, device_id=1).registers[0] >= 1
        finally:
            client.close()
        value = asyncio.run(_opcua_read(f"opc.tcp://127.0.0.1:{ua}/plc-emulator/"))
        assert 700 < value < 1500
        assert proc.terminate(60) == 0
    finally:
        proc.kill()


async def _opcua_read(endpoint: str) -> float:
    from asyncua import Client

    async with asyncio.timeout(60), Client(endpoint, timeout=10) as client:
        ns = await client.get_namespace_index("urn:plc-emulator:twin-hp")
        node = await client.nodes.objects.get_child([f"{ns}:TwinHP", f"{ns}:HP-A", f"{ns}:pressure"])
        return float(await node.read_value())


async def _lockstep(journal: Path) -> tuple[str, int]:
    async with emulator(TAGMAP, journal=journal) as emu, asyncio.timeout(60):
        await emu.step(5)
        emu.write("HP-B.level_sp", 40.0)
        await emu.step(20)
        emu.submit(Command(kind=CommandKind.INJECT_FAULT, target="LP.pressure", params={"kind": "freeze"},
                           source="test"))
        snap = await emu.step(35)
        # the Modbus image serves the same plant
        client = AsyncModbusTcpClient("127.0.0.1", port=emu.modbus_port)
        await client.connect()
        try:
            rr = await client.read_holding_registers(110, count=2, device_id=1)
        finally:
            client.close()
        assert _float(rr.registers) == 40.0
        return snap.digest, snap.tick


def test_digest_equal_across_pacing_modes(tmp_path: Path) -> None:
    """Lockstep fixture (live runtime) == replay of its journal == headless ScanCycle with the same
    commands; and `simulate` == the headless scan with no commands."""
    journal = tmp_path / "j.jsonl"
    live, ticks = asyncio.run(_lockstep(journal))
    assert ticks == 60
    rep = run([CLI, "replay", str(TAGMAP), str(journal)])
    assert rep.returncode == 0, rep.stderr
    assert _digest(rep.stdout.splitlines()) == live

    tm = load(TAGMAP)
    cycle = ScanCycle(tm)
    sp = Command(kind=CommandKind.WRITE, target="LIC-B.sp", value=40.0, source="test")
    freeze = Command(kind=CommandKind.INJECT_FAULT, target="LP.pressure", params={"kind": "freeze"}, source="test")
    assert cycle.run(60, {6: [sp], 26: [freeze]}).digest == live

    sim = run([CLI, "simulate", str(TAGMAP), "--duration", "60s"])
    assert sim.returncode == 0, sim.stderr
    assert _digest(sim.stdout.splitlines()) == ScanCycle(tm).run(60).digest != live


async def _checkpointed(tm: TagMap, path: Path) -> None:
    from plc_emulator.runtime import PlcRuntime, RuntimeConfig
    from plc_emulator.runtime.epoch import EpochPlan

    async with PlcRuntime(tm, RuntimeConfig(paused=True, checkpoint_path=path, epoch=EpochPlan(),
                                            wall_clock=lambda: 1_800_000_000.0)) as plc:
        plc.submit(Command(kind=CommandKind.WRITE, target="LIC-B.sp", value=40.0, source="test"))
        plc.step(30)
        await asyncio.wait_for(plc.wait_tick(30), 30)


async def _restarted(tm: TagMap, ck: Checkpoint, mode: StartMode = StartMode.HOT,
                     ticks: int = 20) -> npt.NDArray[np.float64]:
    from plc_emulator.runtime import PlcRuntime, RuntimeConfig
    from plc_emulator.runtime.epoch import EpochPlan

    plc = PlcRuntime(tm, RuntimeConfig(paused=True, restore=ck, start_mode=mode, epoch=EpochPlan(),
                                       wall_clock=lambda: 1_800_003_600.0))
    await plc.start()
    try:
        plc.step(ticks)
        snap = await asyncio.wait_for(plc.wait_tick(ck.tick + ticks), 30)
    finally:
        plc.stop()
        await plc.join()
    return snap.values


def test_restarts_continue_the_block_engine(tmp_path: Path) -> None:
    """A checkpoint holds the whole block-engine state: restarted hot at tick 30, the plant at tick 50
    is the plant of an uninterrupted run; warm and cold restarts treat the retained setpoint per IEC
    61131-3 on the plant's signals."""
    tm = load(TAGMAP)
    path = tmp_path / "plc.checkpoint"
    asyncio.run(_checkpointed(tm, path))
    ck = read_checkpoint(path)
    assert ck.tick == 30
    assert "plant/flat" in ck.arrays
    restarted = asyncio.run(_restarted(tm, ck))
    cycle = ScanCycle(tm)
    cycle.set_epoch(ck.header["epoch"])
    whole = cycle.run(50, {1: [Command(kind=CommandKind.WRITE, target="LIC-B.sp", value=40.0, source="test")]})
    engine_cols = [i for i, t in enumerate(tm.tags) if t.signal in tm.catalogue]
    assert np.array_equal(restarted[engine_cols], whole.values[engine_cols])
    # warm keeps the retained setpoint, cold writes it back to its initial value at the first tick
    sp = [t.key for t in tm.tags].index("HP-B.level_sp")
    assert asyncio.run(_restarted(tm, ck, StartMode.WARM, 1))[sp] == 40.0
    assert asyncio.run(_restarted(tm, ck, StartMode.COLD, 1))[sp] == 50.0


def test_hmi_overview_reads_the_plant() -> None:
    """The browser HMI's overview: instruments and loops come from the plant's catalogue."""
    from plc_emulator.http.overview import plant_overview

    ov = plant_overview(load(TAGMAP))
    units = {u.name: u for u in ov.units}
    assert units["HP-A"].instruments == ("HP-A.pressure", "HP-A.level")
    (pic,) = units["HP-A"].loops
    assert (pic.id, pic.unit, pic.sp, pic.mode, pic.valve) == ("PIC-A", "PSI", "HP-A.pressure_sp",
                                                               "HP-A.pressure_mode", "HP-A.pressure_valve")
    assert pic.pv == "HP-A.pressure"  # the map has no PIC-A.pv tag: the instrument the controller reads
    assert ("HP-A.pressure", "HP-A.pressure", ("freeze", "drift", "bias", "spike", "noise", "fail",
                                               "comm_loss")) in ov.fault_targets
    assert "PLC" in ov.system
