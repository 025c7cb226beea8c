"""The asphalt tank farm served live (tag_maps/asphalt_tank_farm.yaml, ``model:``): `plc-emulator run`
serves it and a loading valve opened over Modbus draws product; the same digest in every pacing mode;
the heater-trip, loading-surge and stuck-coil-valve scenarios raise their alarms through the scan."""

from __future__ import annotations

import asyncio
import dataclasses
import struct
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from pymodbus.client import ModbusTcpClient

from plc_emulator.commands import Command, CommandKind
from plc_emulator.scan import ScanCycle
from plc_emulator.scenario import load_scenario
from plc_emulator.tagmap import TagMap, load
from plc_emulator.testing import emulator
from tests.conftest import ROOT, free_port
from tests.runtime._proc import CLI, Proc, ready_parts, run

TAGMAP = ROOT / "tag_maps" / "asphalt_tank_farm.yaml"
SCENARIOS = ROOT / "tag_maps" / "scenarios" / "asphalt_tank_farm"
# registers and coils of tag_maps/asphalt_tank_farm.yaml (its header comment)
LS1_FLOW, T01_LEVEL, COIL_LS1_OPEN, DI_LSP1 = 40, 100, 3, 0
LP1_SPEED_SP, LP1_SPEED, LP1_POWER = 50, 52, 54
H1_FLOW, H1_SPEED_SP, H1_SPEED, H1_PUMP_POWER = 6, 12, 14, 16


def _float(regs: Sequence[int]) -> float:
    return float(struct.unpack(">f", struct.pack(">HH", *regs))[0])


def _digest(lines: list[str]) -> str:
    return next(line.split()[1] for line in lines if line.startswith("digest: "))


def test_run_serves_the_farm_and_a_loading_valve_opens_over_modbus(tmp_path: Path) -> None:
    mb, http, ua = free_port(), free_port(), free_port()
    proc = Proc([CLI, "run", str(TAGMAP), "--host", "127.0.0.1", "--modbus-port", str(mb), "--http-port", str(http),
                 "--opcua-port", str(ua), "--speed", "10", "--data-dir", str(tmp_path / "data")])
    try:
        ready_parts(proc.wait_line("ready ", 90))
        client = ModbusTcpClient("127.0.0.1", port=mb, timeout=5)
        assert client.connect()
        try:
            level = client.read_holding_registers(T01_LEVEL, count=3, device_id=1).registers
            assert 86.0 < _float(level[0:2]) < 89.0  # 10.5 m of the 12 m shell
            assert level[2] == 0xC0  # quality Good
            assert client.read_discrete_inputs(DI_LSP1, count=1, device_id=1).bits[0] is False  # loading permitted
            assert _float(client.read_holding_registers(LS1_FLOW, count=2, device_id=1).registers) == 0.0
            assert not client.write_coil(COIL_LS1_OPEN, True, device_id=1).isError()
            deadline = time.monotonic() + 60.0
            flow = 0.0
            while flow < 113.0 and time.monotonic() < deadline:  # 10 s stroke at speed 10
                time.sleep(0.05)
                flow = _float(client.read_holding_registers(LS1_FLOW, count=2, device_id=1).registers)
            assert flow > 113.0  # 500 gpm = 114 m3/h
            power = _float(client.read_holding_registers(LP1_POWER, count=2, device_id=1).registers)
            sp = struct.unpack(">HH", struct.pack(">f", 740.0))
            assert not client.write_registers(LP1_SPEED_SP, list(sp), device_id=1).isError()
            deadline = time.monotonic() + 60.0
            while flow > 57.5 and time.monotonic() < deadline:  # the drive ramps 50 rpm/s: 15 s at speed 10
                time.sleep(0.05)
                flow = _float(client.read_holding_registers(LS1_FLOW, count=2, device_id=1).registers)
            assert abs(flow - 57.0) < 0.5  # half speed, half flow (affinity; no static head)
            assert _float(client.read_holding_registers(LP1_SPEED, count=2, device_id=1).registers) == 740.0
            half = _float(client.read_holding_registers(LP1_POWER, count=2, device_id=1).registers)
            assert half < 0.2 * power  # power ~ speed cubed
            sp = struct.unpack(">HH", struct.pack(">f", 2000.0))  # above the write limit (300-1480 rpm)
            assert client.write_registers(LP1_SPEED_SP, list(sp), device_id=1).isError()
            asyncio.run(_opcua_write_speed(f"opc.tcp://127.0.0.1:{ua}/plc-emulator/", 1184.0))
            deadline = time.monotonic() + 60.0
            while flow < 90.7 and time.monotonic() < deadline:  # 80 % speed: 91.2 m3/h
                time.sleep(0.05)
                flow = _float(client.read_holding_registers(LS1_FLOW, count=2, device_id=1).registers)
            assert abs(flow - 91.2) < 0.5
            _circulation_pump_slows_the_heater_flow(client)
        finally:
            client.close()
        assert proc.terminate(60) == 0
    finally:
        proc.kill()


def _circulation_pump_slows_the_heater_flow(client: ModbusTcpClient) -> None:
    """H-1's circulation pump written to 60 % over Modbus: the coil flows and the bypass follow the
    speed, so the heater flow (FT-H1, a noisy field instrument) falls from the bypass's 60 m3/h to
    36 m3/h; the pump power to 0.6^3."""
    before = _float(client.read_holding_registers(H1_FLOW, count=2, device_id=1).registers)
    assert abs(before - 60.0) < 3.0  # the minimum-flow bypass keeps 60 m3/h at full speed
    assert _float(client.read_holding_registers(H1_PUMP_POWER, count=2, device_id=1).registers) == 22.0
    low = struct.unpack(">HH", struct.pack(">f", 10.0))  # below the write limit (20-100 %)
    assert client.write_registers(H1_SPEED_SP, list(low), device_id=1).isError()
    sp = struct.unpack(">HH", struct.pack(">f", 60.0))
    assert not client.write_registers(H1_SPEED_SP, list(sp), device_id=1).isError()
    deadline = time.monotonic() + 60.0
    speed = 100.0
    while speed > 60.0 and time.monotonic() < deadline:  # 5 %/s: 8 s at speed 10
        time.sleep(0.05)
        speed = _float(client.read_holding_registers(H1_SPEED, count=2, device_id=1).registers)
    assert speed == 60.0
    after = before
    while after > 38.0 and time.monotonic() < deadline:  # FT-H1 follows through its transmitter lag
        time.sleep(0.05)
        after = _float(client.read_holding_registers(H1_FLOW, count=2, device_id=1).registers)
    assert abs(after - 36.0) < 3.0
    power = _float(client.read_holding_registers(H1_PUMP_POWER, count=2, device_id=1).registers)
    assert power == pytest.approx(22.0 * 0.6**3, rel=0.01)


async def _opcua_write_speed(endpoint: str, value: float) -> None:
    from asyncua import Client, ua

    async with asyncio.timeout(60), Client(endpoint, timeout=10) as client:
        ns = await client.get_namespace_index("urn:plc-emulator:asphalt-tank-farm")
        node = client.get_node(ua.NodeId("LOADING.LP_1_speed_sp", ns))
        await node.write_value(ua.DataValue(ua.Variant(value, ua.VariantType.Double)))


async def _lockstep(journal: Path) -> tuple[str, int]:
    async with emulator(TAGMAP, journal=journal) as emu, asyncio.timeout(60):
        await emu.step(5)
        emu.write("LOADING.LS_2_open", 1.0)
        emu.write("LOADING.LP_2_speed_sp", 900.0)
        emu.write("T-04.TIC_04_SP", 170.0)
        snap = await emu.step(55)
        return snap.digest, snap.tick


def test_digest_equal_across_pacing_modes(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    live, ticks = asyncio.run(_lockstep(journal))
    assert ticks == 60
    rep = run([CLI, "replay", str(TAGMAP), str(journal)])
    assert rep.returncode == 0, rep.stderr
    assert _digest(rep.stdout.splitlines()) == live
    tm = load(TAGMAP)
    cmds = [Command(kind=CommandKind.WRITE, target="LS-2.open", value=1.0, source="test"),
            Command(kind=CommandKind.WRITE, target="LP-2.speed_sp", value=900.0, source="test"),
            Command(kind=CommandKind.WRITE, target="TIC-04.sp", value=170.0, source="test")]
    assert ScanCycle(tm).run(60, {6: cmds}).digest == live
    sim = run([CLI, "simulate", str(TAGMAP), "--duration", "60s"])
    assert sim.returncode == 0, sim.stderr
    assert _digest(sim.stdout.splitlines()) == ScanCycle(tm).run(60).digest != live


def _farm(scan_s: float) -> TagMap:
    """The farm at a coarser scan (what `simulate --scan-period` does): hours in seconds of CPU."""
    return dataclasses.replace(load(TAGMAP), scan_period=scan_s)


def _scenario(tm: TagMap, name: str, hours: float | None = None,
              watch: tuple[str, ...] = ()) -> tuple[dict[str, float], dict[str, list[float]]]:
    """First activation time [h] of every alarm, and the tags ``watch`` every scan."""
    scen = load_scenario(SCENARIOS / f"{name}.yaml", tm)
    assert scen.duration is not None
    cycle = ScanCycle(tm)
    cols = {k: [t.key for t in tm.tags].index(k) for k in watch}
    first: dict[str, float] = {}
    seen: dict[str, list[float]] = {k: [] for k in watch}
    for _ in range(round((hours * 3600.0 if hours else scen.duration) / tm.scan_period)):
        snap = cycle.step(scen.schedule.get(cycle.tick + 1, ()))
        for t in snap.alarms["transitions"]:
            if t.event.value == "ACTIVATE":
                first.setdefault(t.alarm, snap.tick * tm.scan_period / 3600.0)
        for k, c in cols.items():
            seen[k].append(float(snap.values[c]))
    return first, seen


def test_heater_trip_raises_the_listed_alarms() -> None:
    """Tripped at 1h: the heater trip alarm at once, the hot-oil supply low (250 °C) within 30 min and
    low-low later; the circulation keeps running (no low-flow alarm) and no tank alarm."""
    first, seen = _scenario(_farm(10.0), "heater_trip", hours=3.0, watch=("T-01.temperature",))
    assert min(first.values()) >= 1.0, first
    assert first["H-1.status.TRIPPED"] < 1.01
    assert 1.0 < first["H-1.supply_temperature.LO"] < 1.5
    assert first["H-1.supply_temperature.LO"] < first["H-1.supply_temperature.LOLO"]
    assert "H-1.flow.LO" not in first
    assert not [a for a in first if a.startswith("T-")], first
    assert np.ptp(seen["T-01.temperature"]) < 2.0  # the tanks hold their heat


def test_loading_surge_overfills_t01_and_stratifies_it() -> None:
    first, seen = _scenario(_farm(10.0), "loading_surge", hours=3.5,
                            watch=("T-01.temperature", "T-01.temperature_top", "T-02.level"))
    assert 1.0 < first["T-01.level.HI"] < first["T-01.level.HIHI"] < 3.5  # overfill before the receipt stops
    at_3h = 3 * 360
    assert seen["T-01.temperature_top"][at_3h] - seen["T-01.temperature"][at_3h] > 10.0  # hot receipt on top
    assert seen["T-02.level"][at_3h] < seen["T-02.level"][0] - 20.0  # LS-2 draws 1.45 m/h


def test_low_level_exposing_the_coil_and_the_loading_permissive(tmp_path: Path) -> None:
    """T-02 started at 1.6 m (13 %): the permissive LSP-2 keeps LS-2 shut (its alarm); bypassed, the
    station draws the tank down to the low (8 %) and low-low (5.5 %, the coil top at 0.6 m) alarms."""
    plant = (ROOT / "tag_maps" / "plants" / "asphalt_tank_farm.yaml").read_text(encoding="utf-8")
    assert "initial: {level_m: 9.0," in plant
    (tmp_path / "plants").mkdir()
    low = plant.replace("initial: {level_m: 9.0,", "initial: {level_m: 1.6,")
    (tmp_path / "plants" / "asphalt_tank_farm.yaml").write_text(low, encoding="utf-8")
    (tmp_path / "farm.yaml").write_text(TAGMAP.read_text(encoding="utf-8"), encoding="utf-8")
    tm = dataclasses.replace(load(tmp_path / "farm.yaml"), scan_period=10.0)
    cycle = ScanCycle(tm)
    flow = [t.key for t in tm.tags].index("LOADING.LS_2_flow")
    first: dict[str, float] = {}
    opened = [Command(kind=CommandKind.WRITE, target="LS-2.open", value=1.0, source="test")]
    bypass = [Command(kind=CommandKind.WRITE, target="LSP-2.bypass", value=1.0, source="test")]
    flows = []
    for _ in range(300):  # 50 min
        snap = cycle.step({3: opened, 60: bypass}.get(cycle.tick + 1, ()))
        flows.append(float(snap.values[flow]))
        for t in snap.alarms["transitions"]:
            if t.event.value == "ACTIVATE":
                first.setdefault(t.alarm, snap.tick * 10.0 / 60.0)
    assert max(flows[2:59]) == 0.0  # not permitted: the valve stays shut although commanded open
    assert max(flows) > 113.0
    assert first["LOADING.LSP_2_active.STOPPED"] < 1.0
    assert 10.0 < first["T-02.level.LO"] < first["T-02.level.LOLO"] < 50.0, first


def test_stuck_coil_valve_is_flagged_by_the_stiction_monitor() -> None:
    first, _ = _scenario(_farm(10.0), "stuck_coil_valve", hours=2.0)
    assert [a for a in first if "stiction" in a] == ["PM.TIC-03.stiction"]
    assert 1.0 <= first["PM.TIC-03.stiction"] < 1.2
