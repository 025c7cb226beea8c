"""A recorded CSV served live: a plant file with a ``playback`` unit behind a tag map (``model:``), run
by the real runtime in lockstep, gives the recorded values at the recorded times over Modbus at 1x
and 10x."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from pymodbus.client import AsyncModbusTcpClient

from plc_emulator.testing import emulator

RECORDING = "timestamp,PT-100,TT-101\n0,1000.0,60.0\n10,1010.0,61.5\n25,1005.0,59.5\n60,990.0,58.0\n"
ROWS = ((0.0, 1000.0, 60.0), (10.0, 1010.0, 61.5), (25.0, 1005.0, 59.5), (60.0, 990.0, 58.0))
PLANT = """plant: recorded
units:
  PT: {{block: playback, params: {{file: rec.csv, column: PT-100, speed: {speed}}}}}
  TT: {{block: playback, params: {{file: rec.csv, column: TT-101, speed: {speed}, interpolation: hold}}}}
"""
TAGMAP = """name: recorded
plant: Recorded
model: plant.yaml
scan_period: 500ms
devices:
  REC:
    description: Recorded plant data
    tags:
      pressure: {signal: PT.value, unit: EU, description: recorded PT-100, kind: analog, range: [0, 2000],
                 access: ro, modbus: {ref: 40001, format: float32}, historian: {enabled: false}}
      temperature: {signal: TT.value, unit: EU, description: recorded TT-101, kind: analog, range: [0, 200],
                    access: ro, modbus: {ref: 40003, format: float32}, historian: {enabled: false}}
"""


def _float(regs: Sequence[int]) -> float:
    return float(struct.unpack(">f", struct.pack(">HH", *regs))[0])


async def _served(tagmap: Path, speed: float) -> list[tuple[float, float]]:
    """Over Modbus at each recorded time: (pressure, temperature)."""
    out = []
    async with emulator(tagmap) as emu, asyncio.timeout(60):
        client = AsyncModbusTcpClient("127.0.0.1", port=emu.modbus_port)
        await client.connect()
        try:
            for t, *_ in ROWS:
                tick = round(t / speed / 0.5)
                if tick > emu.plc.tick:
                    await emu.step(tick - emu.plc.tick)
                rr = await client.read_holding_registers(0, count=4, device_id=1)
                out.append((_float(rr.registers[0:2]), _float(rr.registers[2:4])))
        finally:
            client.close()
    return out


@pytest.mark.parametrize("speed", [1.0, 10.0])
def test_recorded_values_at_recorded_times_over_modbus(tmp_path: Path, speed: float) -> None:
    (tmp_path / "rec.csv").write_text(RECORDING, encoding="utf-8")
    (tmp_path / "plant.yaml").write_text(PLANT.format(speed=speed), encoding="utf-8")
    (tmp_path / "tagmap.yaml").write_text(TAGMAP, encoding="utf-8")
    got = asyncio.run(_served(tmp_path / "tagmap.yaml", speed))
    want = [(np.float32(p), np.float32(t)) for _, p, t in ROWS]
    assert got == want
