"""OEE as tags: the pure block against a day computed by hand, and the real runtime serving the
documented OEE device on Modbus, OPC UA and the historian after a scripted pump trip."""

from __future__ import annotations

import re
import sqlite3
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from asyncua import Client, ua
from pymodbus.client import ModbusTcpClient

from plc_emulator.engine.catalogue import CATALOGUE, index_of
from plc_emulator.oee_block import OeeBlock, oee_signal_spec
from plc_emulator.signals import lookup
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP, ROOT
from tests.engine.test_purity import FORBIDDEN, _imports
from tests.runtime._proc import CLI, Proc, ready_parts, run

SIGNALS = [f"oee.{u}.{f}" for u in ("train", "P100") for f in ("availability", "performance", "quality", "oee")]


def _truth(flow: float, *, esd: bool = False, status: float = 1.0, run_cmd: float = 1.0,
           temp: float = 42.0) -> np.ndarray:
    t = np.zeros((1, len(CATALOGUE)))
    for name, v in (("P100.oil_flow", flow), ("ESD.active", float(esd)), ("P100.status", status),
                    ("P100.run_cmd", run_cmd), ("E100.outlet_temperature", temp), ("TIC100.sp", 42.0)):
        t[0, index_of(name)] = v
    return t


def test_block_matches_a_day_computed_by_hand() -> None:
    """1000 s: 400 s at 15,000 bbl/d, 100 s ESD, 100 s pump stopped by its run command (planned for the
    pump, not for the train), 400 s at 20,000 bbl/d of which the first 100 s off-spec (HX 6 C high)."""
    block = OeeBlock(SIGNALS, dt=1.0)
    assert block.values().tolist() == [0.0] * 8  # nothing behind the figures yet
    script = ([_truth(15000.0)] * 400 + [_truth(0.0, esd=True, status=2.0)] * 100
              + [_truth(0.0, status=0.0, run_cmd=0.0)] * 100 + [_truth(20000.0, temp=48.0)] * 100
              + [_truth(20000.0)] * 300)
    for tick, truth in enumerate(script, start=1):
        block.step(truth, tick)
        block.step(truth, tick)  # a republished tick is not counted twice
    v_total, v_on = 400 * 15000 + 400 * 20000, 400 * 15000 + 300 * 20000  # bbl/d x s
    train = [800 / 1000, v_total / (20000 * 800), v_on / v_total, v_on / (20000 * 1000)]
    pump = [800 / 900, v_total / (20000 * 800), v_on / v_total, v_on / (20000 * 900)]
    assert train[3] == pytest.approx(train[0] * train[1] * train[2])
    np.testing.assert_allclose(block.values(), 100.0 * np.array(train + pump), atol=0.1)  # 0.1 pp
    np.testing.assert_allclose(block.values(), [80.0, 87.5, 600 / 7, 60.0, 800 / 9, 87.5, 600 / 7, 600 / 9],
                               atol=1e-9)


def test_signal_family_is_registered_and_pure() -> None:
    spec = lookup("oee.P100.availability")
    assert spec is not None
    assert (spec.unit, spec.range, spec.writable) == ("%", (0.0, 100.0), False)
    assert lookup("oee.P200.availability") is None
    assert oee_signal_spec("oee.train.uptime") is None
    for module in ("oee.py", "oee_block.py", "distributions.py"):
        assert not _imports(ROOT / "plc_emulator" / module) & FORBIDDEN, module


def _oee_map(tmp_path: Path) -> Path:
    """The default map plus the OEE device exactly as docs/oee.md shows it."""
    doc = (ROOT / "docs" / "oee.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(  OEE:\n.*?)```", doc, re.DOTALL)
    assert block is not None
    path = tmp_path / "oee_map.yaml"
    path.write_text(DEFAULT_TAGMAP.read_text(encoding="utf-8").rstrip("\n") + "\n" + block.group(1), encoding="utf-8")
    return path


def _float(client: ModbusTcpClient, address: int) -> float:
    rr = client.read_holding_registers(address, count=2, device_id=1)
    assert not rr.isError(), rr
    return float(struct.unpack(">f", struct.pack(">2H", *rr.registers))[0])


def _step(client: ModbusTcpClient, ticks: int) -> None:
    """runtime.step (holding 322) then wait, bounded, until runtime.tick (holding 301, uint32) is there."""
    rr = client.read_holding_registers(301, count=2, device_id=1)
    target = (rr.registers[0] << 16 | rr.registers[1]) + ticks
    assert not client.write_register(322, ticks, device_id=1).isError()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rr = client.read_holding_registers(301, count=2, device_id=1)
        if (rr.registers[0] << 16 | rr.registers[1]) >= target:
            return
    raise AssertionError(f"tick {target} not reached")


@pytest.mark.integration
async def test_real_runtime_serves_oee_after_a_scripted_pump_trip(tmp_path: Path) -> None:
    """Pump trip at 120 s of 300 s: PMP-P100 ran ticks 1..1199 of 3000, availability 39.97 % by hand."""
    tagmap = _oee_map(tmp_path)
    tm = load(tagmap)
    scenario = tmp_path / "trip.yaml"
    scenario.write_text("events:\n  - {at: 120s, action: trip_pump}\n")
    data = tmp_path / "data"
    proc = Proc([CLI, "run", str(tagmap), "--host", "127.0.0.1", "--modbus-port", "0", "--http-port", "0",
                 "--opcua-port", "0", "--paused", "--modbus-access", "engineer", "--scenario", str(scenario),
                 "--data-dir", str(data), "--log-level", "critical"])
    try:
        parts = ready_parts(proc.wait_line("ready ", 90))
        host, port = parts["modbus"].rsplit(":", 1)
        mb = ModbusTcpClient(host, port=int(port), timeout=5)
        assert mb.connect()
        try:
            _step(mb, 3000)
            got = {s: _float(mb, 950 + 2 * k) for k, s in enumerate(SIGNALS)}
        finally:
            mb.close()
        assert got["oee.P100.availability"] == pytest.approx(100.0 * 1199 / 3000, abs=0.1)
        assert 100.0 * 1199 / 3000 <= got["oee.train.availability"] <= 100.0 * 1300 / 3000  # flow decays ~5 s
        for unit in ("train", "P100"):
            a, p, q, o = (got[f"oee.{unit}.{f}"] for f in ("availability", "performance", "quality", "oee"))
            assert q == pytest.approx(100.0)  # HX outlet stayed in its window while the pump ran
            assert 99.0 < p <= 100.0
            assert o == pytest.approx(a * p * q / 1e4, abs=0.01)
        async with Client(f"opc.tcp://{parts['opcua']}", timeout=10) as client:
            ns = await client.get_namespace_index(tm.opcua.namespace_uri)
            node = client.get_node(ua.NodeId("OEE.P100_availability", ns))
            assert await node.read_value() == pytest.approx(got["oee.P100.availability"], abs=1e-4)
        rc = proc.terminate(60)
    finally:
        proc.kill()
    assert rc == 0, proc.stderr[-5:]
    with sqlite3.connect(data / "historian.db") as db:
        rows = db.execute("SELECT s.value FROM samples s JOIN tags g ON g.id = s.tag_id "
                          "WHERE g.name = 'OEE.P100_availability' ORDER BY s.seq").fetchall()
    assert rows[0][0] == 0.0  # tick 0: nothing behind the figure yet
    assert max(v for (v,) in rows) == pytest.approx(100.0)  # running from the first tick to the trip
    assert rows[-1][0] == pytest.approx(got["oee.P100.availability"], abs=0.011)  # within its 0.01 deadband


def test_simulate_prints_the_oee_tags(tmp_path: Path) -> None:
    scenario = tmp_path / "trip.yaml"
    scenario.write_text("events:\n  - {at: 120s, action: trip_pump}\n")
    res = run([CLI, "simulate", str(_oee_map(tmp_path)), "--scenario", str(scenario), "--duration", "300s"])
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("oee ")]
    assert len(lines) == 2
    assert lines[1].startswith("oee P100: 39.9 % (availability 40.0 %, performance 99.9 %, quality 100.0 %)")
    assert lines[0].startswith("oee train: ")
