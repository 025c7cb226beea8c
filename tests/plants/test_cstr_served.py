"""The CSTR plant served live (tag_maps/cstr.yaml, ``model: plants/cstr.yaml``): an external controller
takes TIC-1 to manual and drives the coolant valve over Modbus and over OPC UA through the real
``plc-emulator run``; the same digest in every pacing mode; the pump-trip scenario's alarms."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pymodbus.client import ModbusTcpClient

from plc_emulator.cli import main
from plc_emulator.commands import Command, CommandKind
from plc_emulator.scan import ScanCycle
from plc_emulator.scenario import load_scenario
from plc_emulator.tagmap import load
from plc_emulator.testing import emulator
from tests.conftest import ROOT, free_port
from tests.runtime._proc import CLI, Proc, ready_parts, run

TAGMAP = ROOT / "tag_maps" / "cstr.yaml"
SCENARIOS = ROOT / "tag_maps" / "scenarios" / "cstr"
# holding registers of tag_maps/cstr.yaml (its header comment)
T_REACTOR, COOLANT_FLOW, TIC_OUT, TIC_VALVE = 0, 6, 102, 104
COIL_TIC_MODE = 0


def _float(regs: Sequence[int]) -> float:
    return float(struct.unpack(">f", struct.pack(">HH", *regs))[0])


def _words(x: float) -> list[int]:
    return list(struct.unpack(">HH", struct.pack(">f", x)))


def _digest(lines: list[str]) -> str:
    return next(line.split()[1] for line in lines if line.startswith("digest: "))


def test_both_plant_maps_validate() -> None:
    assert main(["validate", str(TAGMAP)]) == 0
    assert main(["validate", str(ROOT / "tag_maps" / "asphalt_tank_farm.yaml")]) == 0
    tm = load(TAGMAP)
    assert tm.plant_model is not None
    assert tm.tag("TIC-1.TIC_1_OUT").signal == "TIC-1.out"


def _until(read: Callable[[], dict[str, float]], ok: Callable[[dict[str, float]], bool],
           seconds: float) -> dict[str, float]:
    """Poll ``read`` until ``ok`` (bounded in time); the last reading."""
    deadline = time.monotonic() + seconds
    got = read()
    while not ok(got) and time.monotonic() < deadline:
        time.sleep(0.05)
        got = read()
    return got


def test_external_controller_takes_the_valve_over_modbus_and_opcua(tmp_path: Path) -> None:
    """TIC-1 to MAN over Modbus, then OUT written over Modbus (valve and coolant flow follow, the
    reactor cools) and over OPC UA (the valve closes, the coolant flow falls)."""
    mb, http, ua = free_port(), free_port(), free_port()
    proc = Proc([CLI, "run", str(TAGMAP), "--host", "127.0.0.1", "--modbus-port", str(mb), "--http-port",
                 str(http), "--opcua-port", str(ua), "--speed", "10", "--data-dir", str(tmp_path / "data")])
    try:
        parts = ready_parts(proc.wait_line("ready ", 90))
        assert parts["scan"] == "1000ms"
        client = ModbusTcpClient("127.0.0.1", port=mb, timeout=5)
        assert client.connect()
        try:
            def read() -> dict[str, float]:
                hr = client.read_holding_registers(0, count=8, device_id=1).registers
                loop = client.read_holding_registers(TIC_OUT, count=4, device_id=1).registers
                return {"t": _float(hr[T_REACTOR:T_REACTOR + 2]), "flow": _float(hr[COOLANT_FLOW:COOLANT_FLOW + 2]),
                        "out": _float(loop[0:2]), "valve": _float(loop[2:4])}

            start = read()
            assert 340.0 < start["t"] < 360.0, start  # TIC-1 holds the unstable 350 K
            assert not client.write_coil(COIL_TIC_MODE, False, device_id=1).isError()  # MAN
            assert not client.write_registers(TIC_OUT, _words(95.0), device_id=1).isError()
            got = _until(read, lambda r: r["valve"] > 90.0 and r["flow"] > 380.0 and r["t"] < 340.0, 60.0)
            assert got["out"] == 95.0
            assert got["valve"] > 90.0, got
            assert got["flow"] > 380.0, got  # 450 L/min at full valve
            assert got["t"] < 340.0, got  # more coolant than 350 K needs: the reactor cools off
            asyncio.run(_opcua_write_out(f"opc.tcp://127.0.0.1:{ua}/plc-emulator/", 5.0))
            got = _until(read, lambda r: r["valve"] < 10.0 and r["flow"] < 60.0, 60.0)
            assert got["out"] == 5.0
            assert got["valve"] < 10.0, got
            assert got["flow"] < 60.0, got
        finally:
            client.close()
        assert proc.terminate(60) == 0
    finally:
        proc.kill()


async def _opcua_write_out(endpoint: str, value: float) -> None:
    from asyncua import Client, ua

    async with asyncio.timeout(60), Client(endpoint, timeout=10) as client:
        ns = await client.get_namespace_index("urn:plc-emulator:cstr")
        node = client.get_node(ua.NodeId("TIC-1.TIC_1_OUT", ns))
        await node.write_value(ua.DataValue(ua.Variant(value, ua.VariantType.Double)))


async def _lockstep(journal: Path) -> tuple[str, int]:
    async with emulator(TAGMAP, journal=journal) as emu, asyncio.timeout(60):
        await emu.step(5)
        emu.write("TIC-1.TIC_1_MODE", 0.0)
        emu.write("TIC-1.TIC_1_OUT", 70.0)
        await emu.step(20)
        emu.submit(Command(kind=CommandKind.INJECT_FAULT, target="R-1.concentration",
                           params={"kind": "drift", "rate": 0.001}, source="test"))
        snap = await emu.step(35)
        return snap.digest, snap.tick


def test_digest_equal_across_pacing_modes(tmp_path: Path) -> None:
    """Lockstep live runtime == replay of its journal == headless ScanCycle with the same commands;
    `simulate` == the headless scan."""
    journal = tmp_path / "j.jsonl"
    live, ticks = asyncio.run(_lockstep(journal))
    assert ticks == 60
    rep = run([CLI, "replay", str(TAGMAP), str(journal)])
    assert rep.returncode == 0, rep.stderr
    assert _digest(rep.stdout.splitlines()) == live
    tm = load(TAGMAP)
    man = Command(kind=CommandKind.WRITE, target="TIC-1.mode", value=0.0, source="test")
    out = Command(kind=CommandKind.WRITE, target="TIC-1.out", value=70.0, source="test")
    drift = Command(kind=CommandKind.INJECT_FAULT, target="R-1.concentration", params={"kind": "drift", "rate": 0.001},
                    source="test")
    assert ScanCycle(tm).run(60, {6: [man, out], 26: [drift]}).digest == live
    sim = run([CLI, "simulate", str(TAGMAP), "--duration", "60s"])
    assert sim.returncode == 0, sim.stderr
    assert _digest(sim.stdout.splitlines()) == ScanCycle(tm).run(60).digest != live


def _activations(tagmap: Path, scenario: Path) -> dict[str, float]:
    """Scenario through the scan (engine + alarm block): first activation time [s] of each alarm."""
    tm = load(tagmap)
    scen = load_scenario(scenario, tm)
    assert scen.duration is not None
    cycle = ScanCycle(tm)
    first: dict[str, float] = {}
    for _ in range(round(scen.duration / tm.scan_period)):
        snap = cycle.step(scen.schedule.get(cycle.tick + 1, ()))
        for t in snap.alarms["transitions"]:
            if t.event.value == "ACTIVATE":
                first.setdefault(t.alarm, snap.tick * tm.scan_period)
    return first


def test_coolant_pump_trip_raises_its_alarms_and_the_interlock() -> None:
    """Pump stopped at 10m: the pump and low-flow alarms at once, then high temperature, then the
    HTI trip within its 10 s delay of 410 K; nothing before the trip."""
    first = _activations(TAGMAP, SCENARIOS / "coolant_pump_trip.yaml")
    assert min(first.values()) >= 600.0, first
    assert first["R-1.coolant_pump.STOPPED"] <= 601.0
    assert first["R-1.coolant_flow.LO"] <= 610.0
    assert 600.0 < first["R-1.temperature.HI"] < first["R-1.temperature.HIHI"] < first["HTI.active.TRIPPED"]
    assert first["HTI.active.TRIPPED"] - first["R-1.temperature.HIHI"] < 30.0
